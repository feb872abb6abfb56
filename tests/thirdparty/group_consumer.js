// A kafkajs group consumer, driven by tests/groups.rs (kafkajs consumers are always group
// members). Usage: node group_consumer.js BOOTSTRAP GROUP TOPIC EXPECT
// Subscribes from the beginning, commits after every record, reads EXPECT records, lingers
// 2 s (a record read twice or one past the end would show), then disconnects (LeaveGroup).
// Prints `record P OFFSET`, `committed`, `closed`, one per line. Exits 3 if kafkajs is not
// installed under tests/node_modules (.ci/run installs it there).
let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch (e) {
  console.error(`kafkajs is not installed: ${e.message}`);
  process.exit(3);
}
const { Kafka, logLevel } = kafkajs;
const [bootstrap, group, topic, expectArg] = process.argv.slice(2);
const expect = Number(expectArg);

async function main() {
  const kafka = new Kafka({ clientId: 'zc-test', brokers: [bootstrap], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let got = 0;
  let reached;
  const done = new Promise((resolve) => { reached = resolve; });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      console.log(`record ${partition} ${message.offset}`);
      const next = (BigInt(message.offset) + 1n).toString();
      await consumer.commitOffsets([{ topic, partition, offset: next }]);
      got += 1;
      if (got >= expect) reached();
    },
  });
  if (expect === 0) reached();
  await done;
  await new Promise((r) => setTimeout(r, 2000));
  console.log('committed');
  await consumer.disconnect();
  console.log('closed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
