import { MongoServerError, MongoWriteConcernError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { isUnavailableError } from '../../src/db/errors.ts';
import { primaryCheckOf } from '../../src/db/replication.ts';
import { startTestApp, useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { dropTestDatabase, openTestDatabase } from '../helpers/db.ts';

describe('replication settings', () => {
  it('default to majority journaled writes, majority reads, list reads on the primary, retries on', () => {
    expect(loadConfig({}).mongo.replication).toEqual({
      writeConcern: { w: 'majority', journal: true, wtimeoutMS: 10_000 },
      readConcern: 'majority',
      listReadPreference: 'primary',
      retryWrites: true,
      retryReads: true,
    });
  });

  it('reads every key', () => {
    const config = loadConfig({
      MONGODB_WRITE_CONCERN: '2',
      MONGODB_WRITE_JOURNAL: 'false',
      MONGODB_WRITE_TIMEOUT_MS: '2500',
      MONGODB_READ_CONCERN: 'local',
      MONGODB_LIST_READ_PREFERENCE: 'secondaryPreferred',
      MONGODB_RETRY_WRITES: 'false',
      MONGODB_RETRY_READS: '0',
    });
    expect(config.mongo.replication).toEqual({
      writeConcern: { w: 2, journal: false, wtimeoutMS: 2500 },
      readConcern: 'local',
      listReadPreference: 'secondaryPreferred',
      retryWrites: false,
      retryReads: false,
    });
  });

  it.each([
    ['MONGODB_WRITE_CONCERN', '0'],
    ['MONGODB_WRITE_CONCERN', 'all'],
    ['MONGODB_WRITE_CONCERN', '51'],
    ['MONGODB_WRITE_JOURNAL', 'yes'],
    ['MONGODB_WRITE_TIMEOUT_MS', '0'],
    ['MONGODB_READ_CONCERN', 'linearizable'],
    ['MONGODB_READ_CONCERN', 'snapshot'],
    ['MONGODB_LIST_READ_PREFERENCE', 'secondaryOnly'],
    ['MONGODB_RETRY_WRITES', 'maybe'],
  ])('refuses %s=%s with one line naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^Invalid configuration: ${name} `),
    );
  });

  it('accepts a URI that repeats the settings (an Atlas string) and refuses one that contradicts them', () => {
    const atlas =
      'mongodb+srv://app:pw@cluster0.example.mongodb.net/blog?retryWrites=true&w=majority';
    expect(loadConfig({ MONGODB_URI: atlas }).mongo.replication.writeConcern.w).toBe('majority');
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://db/blog?w=1' })).toThrow(
      /^Invalid configuration: MONGODB_URI sets w=1 but the configuration says majority: set MONGODB_WRITE_CONCERN instead/,
    );
    expect(
      loadConfig({ MONGODB_URI: 'mongodb://db/blog?w=1', MONGODB_WRITE_CONCERN: '1' }).mongo
        .replication.writeConcern.w,
    ).toBe(1);
    expect(() =>
      loadConfig({ MONGODB_URI: 'mongodb://db/blog?readConcernLevel=local&retryReads=false' }),
    ).toThrow(/MONGODB_URI sets readConcernLevel=local/);
    // The client's own reads must stay on the primary; only list reads may go elsewhere.
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://db/blog?readPreference=nearest' })).toThrow(
      /MONGODB_URI sets readPreference=nearest .* set MONGODB_LIST_READ_PREFERENCE/,
    );
  });
});

describe('the settings of the environment', () => {
  it('reach connections opened without the app config (tests, bench): MONGODB_RETRY_WRITES=false, MONGODB_ATOMIC_UPDATES=false', async () => {
    const saved = { ...process.env };
    process.env.MONGODB_RETRY_WRITES = 'false';
    process.env.MONGODB_RETRY_READS = '0';
    process.env.MONGODB_ATOMIC_UPDATES = 'false';
    try {
      const db = await openTestDatabase('env_settings');
      try {
        const options = db.connection.getClient().options;
        expect([options.retryWrites, options.retryReads]).toEqual([false, false]);
        expect(db.capabilities.atomicUpdates).toBe(false);
      } finally {
        await dropTestDatabase(db);
      }
    } finally {
      process.env = saved;
    }
  });
});

describe('the replication settings on the wire', () => {
  async function commandsOf(env: Record<string, string>) {
    const config = loadConfig(env);
    const db = await openTestDatabase('replication_wire', {
      replication: config.mongo.replication,
    });
    const sent: Record<string, unknown>[] = [];
    const client = db.connection.getClient();
    const listener = (e: { commandName: string; command: Record<string, unknown> }) => {
      sent.push({ name: e.commandName, ...e.command });
    };
    client.on('commandStarted', listener);
    try {
      await db.Tag.create({ name: 'wire', postCount: 1 });
      await db.Tag.find({ name: 'wire' }).lean();
    } finally {
      client.off('commandStarted', listener);
      await dropTestDatabase(db);
    }
    return {
      insert: sent.find((c) => c.name === 'insert'),
      find: sent.find((c) => c.name === 'find'),
    };
  }

  it('by default, writes ask for majority and the journal with a timeout, and reads for majority', async () => {
    const { insert, find } = await commandsOf({});
    expect(insert?.writeConcern).toEqual({ w: 'majority', j: true, wtimeout: 10_000 });
    expect(find?.readConcern).toEqual({ level: 'majority' });
  });

  it('with other settings, the commands carry those', async () => {
    const { insert, find } = await commandsOf({
      MONGODB_WRITE_CONCERN: '1',
      MONGODB_WRITE_JOURNAL: 'false',
      MONGODB_WRITE_TIMEOUT_MS: '3000',
      MONGODB_READ_CONCERN: 'local',
    });
    expect(insert?.writeConcern).toEqual({ w: 1, j: false, wtimeout: 3000 });
    expect(find?.readConcern).toEqual({ level: 'local' });
  });
});

describe('list reads and their read preference', () => {
  const selections: { operation: string; mode: string }[] = [];
  const replication = loadConfig({ MONGODB_LIST_READ_PREFERENCE: 'secondaryPreferred' }).mongo
    .replication;
  const t = useTestApp(
    'list_reads',
    {},
    {
      connect: {
        replication,
        serverSelectionLog: (entry) => {
          if (entry.message !== 'Server selection started') return;
          const selector = String(entry.selector);
          if (!selector.startsWith('{')) return; // the handshake's own selection
          selections.push({
            operation: String(entry.operation),
            mode: (JSON.parse(selector) as { mode: string }).mode,
          });
        },
      },
    },
  );

  async function selectionsFor(send: () => PromiseLike<{ status: number }>, status = 200) {
    selections.length = 0;
    expect((await send()).status).toBe(status);
    return [...selections];
  }

  it('GET /api/posts reads its page and the authors with MONGODB_LIST_READ_PREFERENCE', async () => {
    const me = await aUser(t.api);
    await t.api.post('/api/posts').set(me.auth).send({ body: 'on a secondary' });
    expect(await selectionsFor(() => t.api.get('/api/posts'))).toEqual([
      { operation: 'find', mode: 'secondaryPreferred' },
      { operation: 'find', mode: 'secondaryPreferred' },
    ]);
  });

  it('a single post, a write and the feed token check stay on the primary', async () => {
    const me = await aUser(t.api);
    const created = await t.api.post('/api/posts').set(me.auth).send({ body: 'mine' });
    const one = await selectionsFor(() => t.api.get(`/api/posts/${created.body.id}`));
    expect(one.map((s) => s.mode)).toEqual(['primary', 'primary']);
    const write = await selectionsFor(
      () => t.api.post('/api/posts').set(me.auth).send({ body: 'again' }),
      201,
    );
    expect(new Set(write.map((s) => s.mode))).toEqual(new Set(['primary']));
    // The followees and the page are list reads; the authors, read with the reader's record,
    // are the token check: on the primary, or a revoked token would work on a lagging secondary.
    const feed = await selectionsFor(() => t.api.get('/api/feed').set(me.auth));
    expect(feed.map((s) => `${s.operation} ${s.mode}`)).toEqual([
      'distinct secondaryPreferred',
      'find secondaryPreferred',
      'find primary',
    ]);
  });
});

describe('replication errors and readiness', () => {
  it('counts a stepped-down primary and a write concern timeout as unavailable (503, outcome unknown)', () => {
    for (const code of [10107, 189, 11602, 91]) {
      expect(isUnavailableError(new MongoServerError({ code, message: 'no primary' }))).toBe(true);
    }
    const timeout = new MongoWriteConcernError({
      writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' },
    } as never);
    expect(isUnavailableError(timeout)).toBe(true);
    expect(isUnavailableError(new MongoServerError({ code: 11000, message: 'dup' }))).toBe(false);
    expect(isUnavailableError(new MongoServerError({ code: 2, message: 'bad value' }))).toBe(false);
  });

  it('reads hello: a secondary is not a writable primary; a set primary and mongos are', () => {
    expect(primaryCheckOf({ isWritablePrimary: false, secondary: true, setName: 'rs0' })).toEqual({
      writablePrimary: false,
      topology: 'replica-set',
    });
    expect(primaryCheckOf({ isWritablePrimary: true, setName: 'rs0' })).toEqual({
      writablePrimary: true,
      topology: 'replica-set',
    });
    expect(primaryCheckOf({ isWritablePrimary: true, msg: 'isdbgrid' })).toEqual({
      writablePrimary: true,
      topology: 'sharded',
    });
    expect(primaryCheckOf({ ismaster: true })).toEqual({
      writablePrimary: true,
      topology: 'standalone',
    });
  });

  it('GET /readyz names the topology of the server it found writable', async () => {
    const t = await startTestApp('readyz_topology');
    try {
      const hello = await t.db.connection.getClient().db('admin').command({ hello: 1 });
      const res = await t.api.get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'ready',
        engine: t.db.capabilities.engine,
        topology: primaryCheckOf(hello).topology,
      });
    } finally {
      await t.close();
    }
  });
});
