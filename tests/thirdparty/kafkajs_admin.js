// kafkajs's admin client against a broker, driven by tests/admin.rs.
// Usage: node kafkajs_admin.js BOOTSTRAP
// Creates a 4-partition topic, grows it to 6, reads max.message.bytes with describeConfigs,
// tries a replication factor of 3, deletes the topic; prints one line per step. Exits 3 if
// kafkajs is not installed under tests/node_modules (.ci/run installs it there).
let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch (e) {
  console.error(`kafkajs is not installed: ${e.message}`);
  process.exit(3);
}
const { Kafka, logLevel } = kafkajs;
const kafka = new Kafka({ clientId: 'zc-test', brokers: [process.argv[2]], logLevel: logLevel.NOTHING });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  console.log('created', await admin.createTopics({ topics: [{ topic: 'js-admin', numPartitions: 4 }] }));
  await admin.createPartitions({ topicPartitions: [{ topic: 'js-admin', count: 6 }] });
  const md = await admin.fetchTopicMetadata({ topics: ['js-admin'] });
  console.log('partitions', md.topics[0].partitions.length);
  const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: 'js-admin' }], includeSynonyms: false });
  const max = cfg.resources[0].configEntries.find((c) => c.configName === 'max.message.bytes');
  console.log('max.message.bytes', max.configValue);
  try {
    await admin.createTopics({ topics: [{ topic: 'js-rf', replicationFactor: 3 }] });
    console.log('rf accepted');
  } catch (e) {
    console.log('rf', e.errors.map((x) => x.type).join(','));
  }
  await admin.deleteTopics({ topics: ['js-admin'] });
  console.log('listed', (await admin.listTopics()).includes('js-admin'));
  await admin.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
