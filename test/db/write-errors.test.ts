import { BSON, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkWriteInChunks } from '../../src/db/bulk-write.ts';
import type { Database } from '../../src/db/connection.ts';
import { isUnavailableError } from '../../src/db/errors.ts';
import { MAX_TRANSACTION_ATTEMPTS, meansRunAgain } from '../../src/db/transactions.ts';
import { AppError } from '../../src/shared/errors.ts';
import { dropTestDatabase } from '../helpers/db.ts';
import {
  describeMessage,
  driverRetries,
  type FaultProxy,
  openProxiedDatabase,
} from '../helpers/fault-proxy.ts';

let proxy: FaultProxy;
let proxied: Database;
let direct: Database;
beforeAll(async () => {
  ({ proxy, proxied, direct } = await openProxiedDatabase('write_errors'));
});
afterAll(async () => {
  await proxy.close();
  await proxied.close();
  await dropTestDatabase(direct);
});

const inc = (name: string, n = 1) => ({
  updateOne: { filter: { name }, update: { $inc: { postCount: n } }, upsert: true },
});

describe('bulkWriteInChunks', () => {
  // An update command of single-document upserts is a retryable write: on a replica set or
  // mongos the driver sends it once more after the cut (same txnNumber, applied at most once);
  // on a standalone server or FerretDB it does not. duplicateKeyRetries reruns only upserts
  // that lost a unique-key race, never a network error.
  it('throws when every attempt of the command is cut (the driver retries once where it can)', async () => {
    const retries = await driverRetries(proxied);
    const fault = proxy.arm({ command: 'update', collection: 'tags', action: 'drop', times: 2 });
    try {
      const failed = bulkWriteInChunks(proxied, proxied.Tag, [inc('cut-a'), inc('cut-b')], {
        duplicateKeyRetries: 3,
      });
      await expect(failed).rejects.toSatisfy(isUnavailableError);
      expect(fault.hits()).toBe(retries.writes ? 2 : 1);
    } finally {
      fault.disarm();
    }
    expect(await direct.Tag.countDocuments({ name: /^cut-/ })).toBe(0);
  });

  it('with the connection cut once, succeeds where the driver retries writes and throws where it does not', async () => {
    const retries = await driverRetries(proxied);
    console.log(`driver retries here: writes ${retries.writes}, reads ${retries.reads}`);
    const fault = proxy.arm({ command: 'update', collection: 'tags', action: 'drop' });
    const written = bulkWriteInChunks(proxied, proxied.Tag, [inc('once-a'), inc('once-b')]);
    if (retries.writes) await expect(written).resolves.toBeDefined();
    else await expect(written).rejects.toSatisfy(isUnavailableError);
    expect(fault.hits()).toBe(1);
    // The retry carries the first attempt's txnNumber, so the server applies it at most once.
    const counts = (await direct.Tag.find({ name: /^once-/ }).lean()).map((t) => t.postCount);
    expect(counts).toEqual(retries.writes ? [1, 1] : []);
  });

  it('throws a per-operation error that is not a duplicate key', async () => {
    await direct.Tag.collection.insertOne({ name: 'not-a-number', postCount: 'x' as never });
    const failed = bulkWriteInChunks(direct, direct.Tag, [inc('not-a-number'), inc('fine')], {
      duplicateKeyRetries: 3,
    });
    await expect(failed).rejects.toThrow();
    expect((await direct.Tag.findOne({ name: 'not-a-number' }).lean())?.postCount).toBe('x');
  });

  it('throws an operation Mongoose cannot cast instead of skipping it', async () => {
    const bad = { updateOne: { filter: { name: 'bad' }, update: { $inc: { postCount: 'NaN?' } } } };
    await expect(
      bulkWriteInChunks(direct, direct.Tag, [bad as never, inc('after-bad')]),
    ).rejects.toThrow();
  });

  it('reruns only the upserts that lost a race on the unique name', async () => {
    const racers = Array.from({ length: 8 }, () =>
      bulkWriteInChunks(direct, direct.Tag, [inc('first-use')], { duplicateKeyRetries: 3 }),
    );
    await expect(Promise.all(racers)).resolves.toHaveLength(8);
    expect(await direct.Tag.countDocuments({ name: 'first-use' })).toBe(1);
    if (direct.capabilities.atomicUpdates) {
      expect((await direct.Tag.findOne({ name: 'first-use' }).lean())?.postCount).toBe(8);
    }
  });

  it('sends at most maxWriteStatements operations per command', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `chunk-${i}`);
    const sizes: number[] = [];
    const client = direct.connection.getClient();
    const listener = (event: { commandName: string; command: { updates?: unknown[] } }) => {
      if (event.commandName === 'update') sizes.push(event.command.updates?.length ?? 0);
    };
    client.on('commandStarted', listener);
    try {
      await bulkWriteInChunks(
        direct,
        direct.Tag,
        names.map((n) => inc(n)),
      );
    } finally {
      client.off('commandStarted', listener);
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(direct.capabilities.maxWriteStatements);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
  });
});

// The same cuts with the driver's retryable writes on, on every engine: the proxy presents the
// server as a replica-set primary (a no-op on a real one). Only `drop` faults: FerretDB does not
// remember txnNumbers, so a resent write whose first reply was lost would be applied twice there.
describe('bulkWriteInChunks where the driver retries writes', () => {
  let rs: Awaited<ReturnType<typeof openProxiedDatabase>> | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    const { engine } = direct.capabilities;
    const hello = await direct.connection.getClient().db('admin').command({ hello: 1 });
    // A standalone mongod refuses txnNumber, so it cannot be shown as a replica set.
    if (engine === 'mongodb' && hello.setName === undefined && hello.msg !== 'isdbgrid') {
      skipReason = 'a standalone mongod refuses retryable writes';
      return;
    }
    rs = await openProxiedDatabase('write_errors_rs', { asReplicaSet: true });
  });
  afterAll(async () => {
    if (!rs) return;
    await rs.proxy.close();
    await rs.proxied.close();
    await dropTestDatabase(rs.direct);
  });
  const setUp = (context: { skip: (reason: string) => void }) => {
    if (skipReason || !rs) {
      console.log(`skipped: ${skipReason}`);
      context.skip(skipReason ?? 'no proxy');
    }
    return rs as NonNullable<typeof rs>;
  };

  it('the driver reports retryable writes through the proxy', async (context) => {
    const { proxied } = setUp(context);
    expect((await driverRetries(proxied)).writes).toBe(true);
  });

  it('one cut: the driver sends the command again and the write succeeds, applied once', async (context) => {
    const { proxy, proxied, direct: check } = setUp(context);
    const fault = proxy.arm({ command: 'update', collection: 'tags', action: 'drop' });
    await expect(
      bulkWriteInChunks(proxied, proxied.Tag, [inc('rs-once-a'), inc('rs-once-b')]),
    ).resolves.toBeDefined();
    expect(fault.hits()).toBe(1);
    const counts = (await check.Tag.find({ name: /^rs-once-/ }).lean()).map((t) => t.postCount);
    expect(counts).toEqual([1, 1]);
  });

  it('two cuts: the one retry is cut too, and the write fails with nothing applied', async (context) => {
    const { proxy, proxied, direct: check } = setUp(context);
    const fault = proxy.arm({ command: 'update', collection: 'tags', action: 'drop', times: 2 });
    try {
      await expect(
        bulkWriteInChunks(proxied, proxied.Tag, [inc('rs-cut-a'), inc('rs-cut-b')]),
      ).rejects.toSatisfy(isUnavailableError);
      expect(fault.hits()).toBe(2);
    } finally {
      fault.disarm();
    }
    expect(await check.Tag.countDocuments({ name: /^rs-cut-/ })).toBe(0);
  });

  it('an updateMany is never retried: one cut fails it', async (context) => {
    const { proxy, proxied, direct: check } = setUp(context);
    await check.Tag.create({ name: 'rs-many', postCount: 1 });
    const fault = proxy.arm({ command: 'update', collection: 'tags', action: 'drop', times: 2 });
    try {
      const many = proxied.Tag.updateMany({ name: 'rs-many' }, { $inc: { postCount: 1 } });
      await expect(many).rejects.toSatisfy(isUnavailableError);
      expect(fault.hits()).toBe(1);
    } finally {
      fault.disarm();
    }
    expect((await check.Tag.findOne({ name: 'rs-many' }).lean())?.postCount).toBe(1);
  });
});

describe('errors that mean "run the transaction again"', () => {
  it('are the labelled ones, write conflicts, lock timeouts and duplicate keys; nothing else', () => {
    const server = (fields: Record<string, unknown>) =>
      new MongoServerError({ message: 'x', ...fields } as never);
    expect(meansRunAgain(server({ code: 2, errorLabels: ['TransientTransactionError'] }))).toBe(
      true,
    );
    expect(meansRunAgain(server({ code: 112, codeName: 'WriteConflict' }))).toBe(true);
    expect(meansRunAgain(server({ code: 24, codeName: 'LockTimeout' }))).toBe(true);
    expect(meansRunAgain(server({ code: 11000 }))).toBe(true);
    expect(meansRunAgain(server({ code: 2, codeName: 'BadValue' }))).toBe(false);
    expect(meansRunAgain(server({ code: 121, codeName: 'DocumentValidationFailure' }))).toBe(false);
    expect(meansRunAgain(new AppError('conflict', 'x'))).toBe(false);
    expect(meansRunAgain(new Error('x'))).toBe(false);
    expect(MAX_TRANSACTION_ATTEMPTS).toBeGreaterThan(1);
  });
});

describe('the fault proxy', () => {
  /** An OP_MSG as the driver frames it: header, flagBits, then a kind-0 section. */
  function opMsg(body: Record<string, unknown>, sequenceFirst = false): Buffer {
    const doc = Buffer.from(BSON.serialize(body));
    const sequence = Buffer.concat([
      Buffer.from([1]),
      (() => {
        const ident = Buffer.from('documents\0');
        const inner = Buffer.from(BSON.serialize({ a: 1 }));
        const size = Buffer.alloc(4);
        size.writeInt32LE(4 + ident.length + inner.length);
        return Buffer.concat([size, ident, inner]);
      })(),
    ]);
    const kind0 = Buffer.concat([Buffer.from([0]), doc]);
    const sections = sequenceFirst ? [sequence, kind0] : [kind0];
    const header = Buffer.alloc(20);
    const total = 20 + sections.reduce((n, b) => n + b.length, 0);
    header.writeInt32LE(total, 0);
    header.writeInt32LE(7, 4);
    header.writeInt32LE(0, 8);
    header.writeInt32LE(2013, 12);
    return Buffer.concat([header, ...sections]);
  }

  it('reads the command name and the collection it names', () => {
    expect(describeMessage(opMsg({ update: 'tags', ordered: false, $db: 'x' }))).toEqual({
      command: 'update',
      collection: 'tags',
    });
    expect(describeMessage(opMsg({ insert: 'posts', $db: 'x' }, true))).toEqual({
      command: 'insert',
      collection: 'posts',
    });
    expect(describeMessage(opMsg({ ping: 1, $db: 'admin' }))).toEqual({ command: 'ping' });
    expect(describeMessage(Buffer.alloc(10))).toBeNull();
  });

  // A stall is no error: nothing is retried, the one command is only late.
  it('holds a stalled command until released', async () => {
    const fault = proxy.arm({ command: 'find', collection: 'users', action: 'stall' });
    let done = false;
    const read = proxied.User.findOne({})
      .lean()
      .then(() => {
        done = true;
      });
    await fault.fired;
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    fault.release();
    await read;
    expect(done).toBe(true);
  });
});
