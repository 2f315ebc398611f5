import { createServer, type Server, Socket } from 'node:net';
import { BSON } from 'mongodb';
import { ConnectionString } from 'mongodb-connection-string-url';
import { inject } from 'vitest';
import type { Database } from '../../src/db/connection.ts';
import { connectDatabase } from '../../src/models.ts';
import { openTestDatabase } from './db.ts';

/**
 * A TCP proxy on 127.0.0.1 in front of the test server that can break the connection carrying
 * one chosen command, the way a network or a server crash does. Written here (pure Node, about
 * 200 lines) because the fault proxies that exist (toxiproxy and the like) are separate binaries
 * that cannot see which MongoDB command a packet carries.
 *
 * The driver may send a broken command again (driverRetries below says when): a test whose
 * point is a failure breaks every attempt (`times`); one whose point is recovery asserts what
 * the engine's retries make of a single fault.
 *
 * - `drop`: the command never reaches the server; both sockets are closed.
 * - `drop-reply`: the server runs the command; its reply is thrown away and both sockets closed
 *   (the client cannot tell this from `drop`).
 * - `stall`: the command is held until `release()`, then sent on.
 */
export type FaultAction = 'drop' | 'drop-reply' | 'stall';

export interface FaultRule {
  /** Command name, as the first key of the OP_MSG body: insert, update, delete, findAndModify... */
  command: string;
  /** The collection the command names (the first key's value), when it matters. */
  collection?: string;
  action: FaultAction;
  /** How many matching commands to break (default 1): 2 covers the driver's one retry. */
  times?: number;
}

export interface ArmedFault {
  /** Resolves when a command matching the rule went through the proxy. */
  fired: Promise<void>;
  /** How many commands the rule has broken so far. */
  hits(): number;
  /** Sends a stalled command on (no-op for the other actions). */
  release(): void;
  /** Stops breaking commands (the rule's unused `times` are dropped). */
  disarm(): void;
}

export interface FaultProxy {
  /** Connection string through the proxy (one host, directConnection). */
  uri: string;
  /** Arms the rule for the next `times` matching commands. */
  arm(rule: FaultRule): ArmedFault;
  close(): Promise<void>;
}

const OP_MSG = 2013;
const OP_QUERY = 2004;
const OP_REPLY = 1;
const HELLO = new Set(['hello', 'isMaster', 'ismaster']);

/** True for a hello (or legacy isMaster) command, in OP_MSG or in the handshake's OP_QUERY. */
function isHello(message: Buffer): boolean {
  if (message.length < 21) return false;
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) return HELLO.has(describeMessage(message)?.command ?? '');
  if (opCode !== OP_QUERY) return false;
  // header (16), flags (4), the collection's cstring, skip and return counts (8), the query.
  const query = message.indexOf(0, 20) + 1 + 8;
  const nameEnd = message.indexOf(0, query + 5);
  return HELLO.has(message.toString('utf8', query + 5, nameEnd));
}

/**
 * A hello reply as a replica-set primary's: the driver then applies retryable writes (and sends
 * lsid and txnNumber, which FerretDB accepts and ignores). The message is rebuilt around the
 * changed document, with the same header ids.
 */
function asPrimaryHello(message: Buffer, host: string): Buffer {
  const opCode = message.readInt32LE(12);
  // OP_MSG: header, flagBits, kind-0 byte; OP_REPLY: header, flags, cursor id, from, count.
  const bodyAt = opCode === OP_MSG ? 21 : opCode === OP_REPLY ? 36 : -1;
  if (bodyAt < 0) return message;
  const hello = BSON.deserialize(message.subarray(bodyAt));
  Object.assign(hello, {
    setName: 'fault-proxy-rs',
    setVersion: 1,
    hosts: [host],
    me: host,
    secondary: false,
    isWritablePrimary: true,
    ismaster: true,
  });
  const body = Buffer.from(BSON.serialize(hello));
  const prefix = Buffer.from(message.subarray(0, bodyAt));
  prefix.writeInt32LE(bodyAt + body.length, 0);
  return Buffer.concat([prefix, body]);
}

/** Command name and its string argument (the collection) of an OP_MSG, if it is one. */
export function describeMessage(message: Buffer): { command: string; collection?: string } | null {
  if (message.length < 21 || message.readInt32LE(12) !== OP_MSG) return null;
  let offset = 20; // header (16) + flagBits (4)
  while (offset < message.length) {
    const kind = message[offset];
    offset += 1;
    if (kind === 0) {
      // BSON document: int32 size, then elements (type byte, cstring name, value).
      const type = message[offset + 4];
      const nameEnd = message.indexOf(0, offset + 5);
      const command = message.toString('utf8', offset + 5, nameEnd);
      if (type !== 0x02) return { command };
      const length = message.readInt32LE(nameEnd + 1);
      const collection = message.toString('utf8', nameEnd + 5, nameEnd + 5 + length - 1);
      return { command, collection };
    }
    offset += message.readInt32LE(offset); // a document sequence: skip it
  }
  return null;
}

/** Splits a byte stream into whole wire-protocol messages (each starts with its int32 length). */
function messageSplitter(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const size = pending.readInt32LE(0);
      if (pending.length < size) return;
      onMessage(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  };
}

interface Armed {
  rule: FaultRule;
  remaining: number;
  hits: number;
  fire: () => void;
  released: Promise<void>;
}

/**
 * `asReplicaSet`: the proxy tells the driver that the server is a replica-set primary, so that the
 * driver's retryable writes apply in front of FerretDB too. Only for faults that stop a command
 * before the server (`drop`, `stall`): FerretDB does not remember txnNumbers, so a write whose
 * reply was lost (`drop-reply`) would be applied again, where MongoDB answers from its record.
 */
export async function startFaultProxy(
  targetUri: string,
  { asReplicaSet = false }: { asReplicaSet?: boolean } = {},
): Promise<FaultProxy> {
  const target = new ConnectionString(targetUri);
  const [host, port] = (target.hosts[0] ?? '127.0.0.1:27017').split(':');
  const armed: Armed[] = [];
  const sockets = new Set<Socket>();
  let proxyHost = '';

  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
    // Request ids whose reply must be thrown away (drop-reply), or rewritten (asReplicaSet).
    const swallowReplyTo = new Set<number>();
    const helloReplyTo = new Set<number>();
    // Messages wait here, in order, while a stalled one is held.
    let queue: Promise<void> = Promise.resolve();

    upstream.on(
      'data',
      messageSplitter((message) => {
        const replyTo = message.readInt32LE(8);
        if (swallowReplyTo.has(replyTo)) closeBoth();
        else if (helloReplyTo.delete(replyTo)) client.write(asPrimaryHello(message, proxyHost));
        else client.write(message);
      }),
    );
    client.on(
      'data',
      messageSplitter((message) => {
        const described = describeMessage(message);
        const index = described
          ? armed.findIndex(
              ({ rule }) =>
                rule.command === described.command &&
                (rule.collection === undefined || rule.collection === described.collection),
            )
          : -1;
        if (asReplicaSet && isHello(message)) helloReplyTo.add(message.readInt32LE(4));
        const fault = index >= 0 ? armed[index] : undefined;
        if (fault) {
          fault.hits += 1;
          fault.remaining -= 1;
          if (fault.remaining <= 0) armed.splice(index, 1);
          fault.fire();
        }
        const copy = Buffer.from(message);
        queue = queue.then(async () => {
          if (fault?.rule.action === 'drop') return closeBoth();
          if (fault?.rule.action === 'drop-reply') swallowReplyTo.add(copy.readInt32LE(4));
          if (fault?.rule.action === 'stall') await fault.released;
          if (!upstream.destroyed) upstream.write(copy);
        });
      }),
    );
    upstream.connect(Number(port ?? 27017), host ?? '127.0.0.1');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('fault proxy has no port');
  proxyHost = `127.0.0.1:${address.port}`;

  const through = target.clone();
  through.hosts = [proxyHost];
  through.pathname = '/';
  through.searchParams.delete('replicaSet');
  through.searchParams.set('directConnection', 'true');

  return {
    uri: through.toString(),
    arm(rule) {
      let fire = () => {};
      let release = () => {};
      const fired = new Promise<void>((resolve) => {
        fire = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const entry: Armed = { rule, remaining: rule.times ?? 1, hits: 0, fire, released };
      armed.push(entry);
      return {
        fired,
        release,
        hits: () => entry.hits,
        disarm: () => {
          const index = armed.indexOf(entry);
          if (index >= 0) armed.splice(index, 1);
        },
      };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A test database reached through a fault proxy, and the same database reached directly (for
 * arranging and checking, untouched by the faults). Drop it with dropTestDatabase(direct).
 */
export async function openProxiedDatabase(
  label: string,
  options: { asReplicaSet?: boolean } = {},
): Promise<{ proxy: FaultProxy; proxied: Database; direct: Database }> {
  const direct = await openTestDatabase(label);
  const dbName = direct.connection.name;
  const proxy = await startFaultProxy(inject('mongoUri'), options);
  const proxied = await connectDatabase(proxy.uri, { dbName, serverSelectionTimeoutMS: 10_000 });
  return { proxy, proxied, direct };
}

/** Which automatic retries the driver applies on a connection (it decides per server). */
export interface DriverRetries {
  /**
   * Retryable writes: on a replica set member or mongos that has sessions, with retryWrites (on
   * by default), the driver sends a failed insert, updateOne, replaceOne, deleteOne,
   * findOneAndX or a bulk write without multi-document operations once more after a network
   * error or a RetryableWriteError, with the same lsid and txnNumber, so the server applies it
   * at most once. updateMany and deleteMany are never retried; nor is a write inside a
   * transaction (the transaction is run again instead). Never on a standalone server: FerretDB.
   */
  writes: boolean;
  /**
   * Retryable reads: on any server with sessions, with retryReads (on by default), find,
   * aggregate without $out/$merge, count, countDocuments, distinct and listIndexes/listCollections
   * are sent once more after a network error or a retryable server error (not in a transaction).
   */
  reads: boolean;
}

export async function driverRetries(db: Database): Promise<DriverRetries> {
  const client = db.connection.getClient();
  const hello = await client.db('admin').command({ hello: 1 });
  const sessions = hello.logicalSessionTimeoutMinutes != null;
  const replicated = hello.setName !== undefined || hello.msg === 'isdbgrid';
  return {
    writes: Boolean(client.options.retryWrites) && sessions && replicated,
    reads: Boolean(client.options.retryReads) && sessions,
  };
}
