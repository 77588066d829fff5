'use strict';
// kafkajs's transactional API (unmodified kafkajs 2.2.4) against a Tributary cluster, driven by
// tests/Tributary.Integration.Tests/KafkaJs/KafkaJsTransactionTests.cs. Each case prints one final JSON line with what
// it saw; the C# test asserts on that line. Usage: node txn.js <case> <bootstrap servers> <topic> [partitions]
// Cases: commit, abort, mixed, send-offsets, fence.

// The partitioner notice is for users upgrading from kafkajs 1.x; every record here names its partition.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel } = require('kafkajs');

const [caseName, bootstrap, topic, partitionsText] = process.argv.slice(2);
const partitions = Number(partitionsText || '3');
const kafka = new Kafka({
  clientId: `tributary-kafkajs-${caseName}`,
  brokers: bootstrap.split(','),
  logLevel: logLevel.WARN,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
});

const keysOf = (prefix, count) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
const toMessages = (keys) => keys.map((key, i) => ({ key, value: key, partition: i % partitions }));

function transactionalProducer(transactionalId) {
  return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60000 });
}

// One committed, non-transactional "end" record per partition, written last: a reader has read everything before it
// once it has seen every partition's end record (read_committed skips markers and aborted data, so counting offsets
// would not tell).
async function writeEndRecords(targetTopic) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: targetTopic,
    acks: -1,
    messages: Array.from({ length: partitions }, (_, p) => ({ key: `end-${p}`, value: 'end', partition: p })),
  });
  await producer.disconnect();
}

// Reads targetTopic from the beginning with a fresh group until every partition's end record was seen; returns each
// partition's keys (end records excluded) in offset order.
async function readAll(targetTopic, readUncommitted) {
  const consumer = kafka.consumer({
    groupId: `kafkajs-reader-${readUncommitted ? 'uncommitted' : 'committed'}-${process.pid}-${Date.now()}`,
    readUncommitted,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  const read = Array.from({ length: partitions }, () => []);
  const ended = new Set();
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  await consumer.connect();
  await consumer.subscribe({ topic: targetTopic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const key = message.key.toString();
      if (key.startsWith('end-')) {
        ended.add(partition);
        if (ended.size === partitions) finish();
      } else if (!ended.has(partition)) {
        read[partition].push(key);
      }
    },
  });
  const timer = setTimeout(finish, 40000);
  await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (ended.size !== partitions) throw new Error(`reading ${targetTopic}: end record seen on ${ended.size} of ${partitions} partitions`);
  return read;
}

async function readBoth(targetTopic) {
  const [committed, uncommitted] = await Promise.all([readAll(targetTopic, false), readAll(targetTopic, true)]);
  return { committed, uncommitted };
}

async function runTransaction(producer, keys, commit) {
  const txn = await producer.transaction();
  await txn.send({ topic, acks: -1, messages: toMessages(keys) });
  if (commit) await txn.commit(); else await txn.abort();
}

const cases = {
  // Several partitions in one transaction; read_committed sees every record once committed.
  async commit() {
    const producer = transactionalProducer(`kafkajs-commit-${topic}`);
    await producer.connect();
    const keys = keysOf('c', 60);
    await runTransaction(producer, keys, true);
    await producer.disconnect();
    await writeEndRecords(topic);
    return { produced: keys, ...(await readBoth(topic)) };
  },

  // An aborted transaction: read_committed sees none of it, read_uncommitted all of it.
  async abort() {
    const producer = transactionalProducer(`kafkajs-abort-${topic}`);
    await producer.connect();
    const keys = keysOf('a', 60);
    await runTransaction(producer, keys, false);
    await producer.disconnect();
    await writeEndRecords(topic);
    return { produced: keys, ...(await readBoth(topic)) };
  },

  // Alternating committed (c<round>) and aborted (a<round>) transactions of one producer.
  async mixed() {
    const producer = transactionalProducer(`kafkajs-mixed-${topic}`);
    await producer.connect();
    const committedKeys = [];
    const abortedKeys = [];
    for (let round = 0; round < 6; round++) {
      const commit = round % 2 === 0;
      const keys = keysOf(`${commit ? 'c' : 'a'}${round}`, 30);
      await runTransaction(producer, keys, commit);
      (commit ? committedKeys : abortedKeys).push(...keys);
    }
    await producer.disconnect();
    await writeEndRecords(topic);
    return { committedKeys, abortedKeys, ...(await readBoth(topic)) };
  },

  // Consume-transform-produce: a group member reads <topic>, writes <topic>-out and commits its group's offsets in the
  // same transaction (sendOffsets). The group's committed offsets are checked before (none) and after the commit, and
  // an aborted transaction's offsets never show.
  async 'send-offsets'() {
    const input = topic;
    const outputTopic = `${topic}-out`;
    const groupId = `kafkajs-transformer-${topic}`;
    const seed = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await seed.connect();
    const inputKeys = keysOf('in', 30);
    await seed.send({ topic: input, acks: -1, messages: toMessages(inputKeys) });
    await seed.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    const groupOffsets = async () => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [input] });
      return entry.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
    };

    const producer = transactionalProducer(`kafkajs-transformer-${topic}`);
    await producer.connect();
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    const transformed = [];
    const offsetsBeforeCommit = [];
    let finish;
    let failure = null;
    const done = new Promise((resolve) => { finish = resolve; });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        try {
          const txn = await producer.transaction();
          await txn.send({
            topic: outputTopic,
            acks: -1,
            messages: batch.messages.map((m) => ({ key: m.key.toString(), value: `t:${m.value}`, partition: batch.partition })),
          });
          const next = (BigInt(batch.lastOffset()) + 1n).toString();
          await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: next }] }] });
          // What the group shows while the transaction is open: not the pending offset.
          offsetsBeforeCommit.push({ partition: batch.partition, pending: Number(next), visible: (await groupOffsets())[batch.partition] });
          await txn.commit();
          transformed.push(...batch.messages.map((m) => m.key.toString()));
          if (transformed.length >= inputKeys.length) finish();
        } catch (e) {
          failure = e;
          finish();
        }
      },
    });
    const timer = setTimeout(finish, 40000);
    await done;
    clearTimeout(timer);
    await consumer.disconnect();
    if (failure) throw failure;

    // Markers are written after EndTxn answers; the offsets become visible once the group partition's marker is in.
    let offsetsAfterCommit = await groupOffsets();
    for (let i = 0; i < 50 && offsetsAfterCommit.some((o) => o < 0); i++) {
      await new Promise((r) => setTimeout(r, 200));
      offsetsAfterCommit = await groupOffsets();
    }

    // An aborted transaction's offsets are never visible.
    const abortTxn = await producer.transaction();
    await abortTxn.send({ topic: outputTopic, acks: -1, messages: [{ key: 'aborted-out', value: 'x', partition: 0 }] });
    await abortTxn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '1000' }] }] });
    await abortTxn.abort();
    await producer.disconnect();
    const offsetsAfterAbort = await groupOffsets();
    await admin.disconnect();

    await writeEndRecords(outputTopic);
    const output = await readAll(outputTopic, false);
    return { inputKeys, transformed, offsetsBeforeCommit, offsetsAfterCommit, offsetsAfterAbort, output };
  },

  // A second producer with the same transactional id fences the first, whose open transaction is aborted.
  async fence() {
    const transactionalId = `kafkajs-fence-${topic}`;
    const zombie = transactionalProducer(transactionalId);
    await zombie.connect();
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic, acks: -1, messages: toMessages(keysOf('zombie', 30)) });

    const successor = transactionalProducer(transactionalId);
    await successor.connect();
    const successorKeys = keysOf('successor', 30);
    await runTransaction(successor, successorKeys, true);
    await successor.disconnect();

    let zombieError = null;
    try {
      await zombieTxn.commit();
    } catch (e) {
      const chain = [];
      for (let err = e; err; err = err.originalError || err.cause) chain.push({ name: err.name, type: err.type || null, code: err.code ?? null, message: err.message });
      zombieError = { name: e.name, retriable: Boolean(e.retriable), chain };
    }
    await zombie.disconnect().catch(() => {});
    await writeEndRecords(topic);
    return { successorKeys, zombieError, ...(await readBoth(topic)) };
  },
};

(async () => {
  const run = cases[caseName];
  if (!run) throw new Error(`unknown case ${caseName}; one of ${Object.keys(cases).join(', ')}`);
  const started = Date.now();
  const result = await run();
  process.stdout.write(`${JSON.stringify({ case: caseName, ms: Date.now() - started, ...result })}\n`);
  process.exit(0);
})().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.stdout.write(`${JSON.stringify({ case: caseName, error: `${e.name}: ${e.message}` })}\n`);
  process.exit(1);
});
