import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BSON, type Document } from 'mongodb';
import { BackupError } from './errors.ts';

// mongodump's archive format (mongo-tools common/archive/spec.md; no maintained reader for Node):
// a magic number, a header document, one metadata document per collection and a terminator, then
// blocks of "namespace header, documents, terminator", each namespace closed by an EOF header.
const MAGIC = 0x8199e26d;
const TERMINATOR = -1;
// 16 MiB documents plus the room the server allows for internal fields.
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 + 16 * 1024;
const END = Symbol('end of the archive');

export interface ArchiveCollection {
  name: string;
  documents: number;
  /** Index definitions as the server listed them at dump time. */
  indexes: Document[];
}

export interface ArchiveSummary {
  sha256: string;
  sizeBytes: number;
  serverVersion: string;
  toolVersion: string;
  databases: string[];
  collections: ArchiveCollection[];
  /** Documents of the collections asked for in `decode`, by collection name. */
  decoded: Record<string, Document[]>;
}

type Read = (n: number) => Promise<Buffer | undefined>;
type Entry = ArchiveCollection & { ended: boolean; expectData: boolean };

/**
 * Reads a gzip mongodump archive to its end in one pass: SHA-256 of the file, the gzip stream's
 * own checks, the archive structure, and the documents per collection. Any damage (truncation,
 * flipped bits, a collection without its end marker) is a corrupt-archive error.
 */
export async function inspectArchive(path: string, decode: string[] = []): Promise<ArchiveSummary> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  let parsed: Omit<ArchiveSummary, 'sha256' | 'sizeBytes'> | undefined;
  try {
    await pipeline(createReadStream(path), tap, createGunzip(), async (source) => {
      parsed = await parseArchive(byteReader(source[Symbol.asyncIterator]()), new Set(decode));
    });
  } catch (error) {
    if (error instanceof BackupError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = (error as Error).message;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
      throw new BackupError('io-error', `cannot read ${path}: ${reason}`);
    throw new BackupError('corrupt-archive', `${path} is not a valid gzip stream: ${reason}`);
  }
  if (!parsed) throw corrupt('the parser did not finish');
  return { sha256: hash.digest('hex'), sizeBytes, ...parsed };
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      sizeBytes += (chunk as Buffer).length;
    }
  } catch (error) {
    throw new BackupError('io-error', `cannot read ${path}: ${(error as Error).message}`);
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

function corrupt(reason: string): BackupError {
  return new BackupError('corrupt-archive', `corrupt archive: ${reason}`);
}

/** Exact-size reads over a stream of chunks: n bytes, or undefined at a clean end of stream. */
function byteReader(source: AsyncIterator<Buffer>): Read {
  let held: Buffer = Buffer.alloc(0);
  return async (n) => {
    const parts: Buffer[] = [held];
    let size = held.length;
    while (size < n) {
      const next = await source.next();
      if (next.done) break;
      parts.push(next.value);
      size += next.value.length;
    }
    if (size === 0) return undefined;
    if (size < n) throw corrupt('it ends in the middle of a record');
    const all = parts.length === 1 ? held : Buffer.concat(parts, size);
    held = all.subarray(n);
    return all.subarray(0, n);
  };
}

/** The next document (raw BSON), undefined for a terminator, END where the stream ends. */
async function record(read: Read, what: string): Promise<Buffer | undefined | typeof END> {
  const prefix = await read(4);
  if (!prefix) return END;
  const length = prefix.readInt32LE(0);
  if (length === TERMINATOR) return undefined;
  if (length < 5 || length > MAX_DOCUMENT_BYTES)
    throw corrupt(`bad document length ${length} in ${what}`);
  const rest = await read(length - 4);
  if (rest?.[rest.length - 1] !== 0) throw corrupt(`truncated document in ${what}`);
  return Buffer.concat([prefix, rest]);
}

/** A document or terminator that must come before the end of the stream. */
async function expectRecord(read: Read, what: string): Promise<Buffer | undefined> {
  const next = await record(read, what);
  if (next === END) throw corrupt(`archive ends before the ${what}`);
  return next;
}

async function parseArchive(read: Read, decode: Set<string>) {
  const magic = await read(4);
  if (magic?.readUInt32LE(0) !== MAGIC) throw corrupt('not a mongodump archive (bad magic number)');
  const header = await expectRecord(read, 'archive header');
  if (!header) throw corrupt('terminator where the archive header should be');
  const { server_version, tool_version } = BSON.deserialize(header);
  const databases = new Set<string>();
  const collections = new Map<string, Entry>();
  for (;;) {
    const raw = await expectRecord(read, 'collection metadata');
    if (!raw) break;
    const meta = BSON.deserialize(raw);
    databases.add(String(meta.db));
    const metadata = meta.metadata
      ? BSON.EJSON.parse(String(meta.metadata), { relaxed: false })
      : {};
    collections.set(`${meta.db}.${meta.collection}`, {
      name: String(meta.collection),
      documents: 0,
      indexes: Array.isArray(metadata.indexes) ? metadata.indexes : [],
      ended: false,
      // Views carry no documents; timeseries data lives in system.buckets.<name>.
      expectData: meta.type !== 'view' && meta.type !== 'timeseries',
    });
  }
  const decoded = await readData(read, collections, decode);
  return {
    serverVersion: String(server_version ?? ''),
    toolVersion: String(tool_version ?? ''),
    databases: [...databases],
    collections: [...collections.values()]
      .filter((c) => c.expectData)
      .map(({ name, documents, indexes }) => ({ name, documents, indexes })),
    decoded,
  };
}

/** The namespace blocks to the end of the archive: counts, and the documents asked for. */
async function readData(read: Read, collections: Map<string, Entry>, decode: Set<string>) {
  const decoded: Record<string, Document[]> = {};
  for (;;) {
    const raw = await record(read, 'namespace header');
    if (raw === END) break;
    if (!raw) throw corrupt('two terminators in a row');
    const head = BSON.deserialize(raw);
    const ns = `${head.db}.${head.collection}`;
    const entry = collections.get(ns) ?? {
      name: String(head.collection),
      documents: 0,
      indexes: [],
      ended: false,
      expectData: true,
    };
    collections.set(ns, entry);
    if (entry.ended) throw corrupt(`data for ${ns} after its end marker`);
    entry.ended = head.EOF === true;
    for (let doc = await expectRecord(read, ns); doc; doc = await expectRecord(read, ns)) {
      if (entry.ended) throw corrupt(`no terminator after the end of ${ns}`);
      entry.documents += 1;
      if (!decode.has(entry.name)) continue;
      decoded[entry.name] ??= [];
      decoded[entry.name]?.push(BSON.deserialize(doc));
    }
  }
  for (const [ns, entry] of collections) {
    if (entry.expectData && !entry.ended)
      throw corrupt(`archive truncated: ${ns} has no end marker`);
  }
  return decoded;
}
