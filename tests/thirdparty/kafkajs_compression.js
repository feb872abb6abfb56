// kafkajs with compression codecs, driven by tests/compression.rs.
// Usage: node kafkajs_compression.js produce BOOTSTRAP TOPIC CODEC < values (one per line)
//        node kafkajs_compression.js consume BOOTSTRAP COUNT TOPIC...
// kafkajs has gzip built in; snappy and lz4 come from the kafkajs-snappy and kafkajs-lz4
// codec packages. There is no zstd codec that installs on current Node (@kafkajs/zstd's
// native module does not build), so zstd is refused here with exit 4.
// `consume` reads each topic from the beginning with a group consumer (kafkajs has no other
// kind) and prints `TOPIC VALUE` lines. Exits 3 if kafkajs or a codec is not installed
// under tests/node_modules (.ci/run installs them there).
let kafkajs;
try {
  kafkajs = require('kafkajs');
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.Snappy] = require('kafkajs-snappy');
  const LZ4 = require('kafkajs-lz4');
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = new LZ4().codec;
} catch (e) {
  console.error(`kafkajs or a codec is not installed: ${e.message}`);
  process.exit(3);
}
const { Kafka, CompressionTypes, logLevel } = kafkajs;
const [mode, bootstrap, ...rest] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'zc-test', brokers: [bootstrap], logLevel: logLevel.ERROR });

async function produce(topic, codec) {
  const types = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4 };
  if (!(codec in types)) {
    console.error(`kafkajs has no ${codec} codec that installs on this Node`);
    process.exit(4);
  }
  const input = require('fs').readFileSync(0, 'utf8');
  const messages = input.split('\n').filter((v) => v.length > 0).map((value) => ({ value, partition: 0 }));
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, compression: types[codec], messages });
  await producer.disconnect();
}

async function consume(count, topics) {
  for (const topic of topics) {
    const consumer = kafka.consumer({ groupId: `zc-compression-${topic}`, sessionTimeout: 6000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let got = 0;
    let reached;
    const done = new Promise((resolve) => { reached = resolve; });
    await consumer.run({
      eachMessage: async ({ message }) => {
        console.log(`${topic} ${message.value.toString()}`);
        got += 1;
        if (got >= count) reached();
      },
    });
    await done;
    await consumer.disconnect();
  }
}

(mode === 'produce' ? produce(rest[0], rest[1]) : consume(Number(rest[0]), rest.slice(1)))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
