import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BSON, type Document } from 'mongodb';
import { ByteReader } from './byte-reader.ts';
import { BackupError } from './errors.ts';

// The mongodump archive format (mongo-tools common/archive/spec.md): a magic number, a header
// document, one metadata document per collection, a terminator, then blocks of
// "namespace header, documents, terminator" and one EOF header per collection.
const MAGIC = 0x8199e26d;
const TERMINATOR = -1;
// 16 MiB documents plus the room the server allows for internal fields.
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 + 16 * 1024;

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
  let parsed: ParsedArchive | undefined;
  try {
    await pipeline(
      createReadStream(path),
      tap,
      createGunzip(),
      async (source: AsyncIterable<Buffer>) => {
        parsed = await parseArchive(
          new ByteReader(source[Symbol.asyncIterator]()),
          new Set(decode),
          false,
        );
      },
    );
  } catch (error) {
    throw readFailure(path, error);
  }
  if (!parsed) throw corrupt('the parser did not finish');
  return { sha256: hash.digest('hex'), sizeBytes, ...parsed };
}

/** The header and collections (with index definitions) without reading the data: counts stay 0. */
export async function readArchivePrelude(path: string): Promise<ParsedArchive> {
  const file = createReadStream(path);
  const gunzip = createGunzip();
  file.on('error', (error) => gunzip.destroy(error));
  file.pipe(gunzip);
  try {
    return await parseArchive(new ByteReader(gunzip[Symbol.asyncIterator]()), new Set(), true);
  } catch (error) {
    throw readFailure(path, error);
  } finally {
    file.destroy();
    gunzip.destroy();
  }
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

type ParsedArchive = Omit<ArchiveSummary, 'sha256' | 'sizeBytes'>;

function readFailure(path: string, error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new BackupError('io-error', `cannot read ${path}: ${(error as Error).message}`);
  }
  return new BackupError(
    'corrupt-archive',
    `${path} is not a valid gzip stream: ${(error as Error).message}`,
  );
}

type CollectionEntry = ArchiveCollection & { ended: boolean; expectData: boolean };
type Collections = Map<string, CollectionEntry>;

/**
 * The archive's layout in order: magic number and header, one metadata document per collection,
 * then blocks of documents per namespace, each namespace closed by an EOF header.
 */
async function parseArchive(
  reader: ByteReader,
  decode: Set<string>,
  preludeOnly: boolean,
): Promise<ParsedArchive> {
  const header = await readHeader(reader);
  const { collections, databases } = await readCollectionList(reader);
  const decoded: Record<string, Document[]> = {};
  if (!preludeOnly) {
    while (await readNamespaceBlock(reader, collections, decode, decoded));
    assertEveryCollectionEnded(collections);
  }
  return {
    serverVersion: String(header.server_version ?? ''),
    toolVersion: String(header.tool_version ?? ''),
    databases: [...databases],
    collections: [...collections.values()]
      .filter((c) => c.expectData)
      .map(({ name, documents, indexes }) => ({ name, documents, indexes })),
    decoded,
  };
}

async function readHeader(reader: ByteReader): Promise<Document> {
  const magic = await reader.read(4);
  if (!magic || magic.readUInt32LE(0) !== MAGIC)
    throw corrupt('not a mongodump archive (bad magic number)');
  return readDocument(reader, 'archive header');
}

async function readCollectionList(
  reader: ByteReader,
): Promise<{ collections: Collections; databases: Set<string> }> {
  const collections: Collections = new Map();
  const databases = new Set<string>();
  for (;;) {
    const meta = await readDocumentOrTerminator(reader, 'collection metadata');
    if (!meta) break;
    databases.add(String(meta.db));
    const metadata = meta.metadata
      ? (BSON.EJSON.parse(String(meta.metadata), { relaxed: false }) as Document)
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
  return { collections, databases };
}

/**
 * One namespace header and what follows it: the documents up to a terminator, or (an EOF
 * header) the end of that namespace. False at the end of the archive.
 */
async function readNamespaceBlock(
  reader: ByteReader,
  collections: Collections,
  decode: Set<string>,
  decoded: Record<string, Document[]>,
): Promise<boolean> {
  const lengthBytes = await reader.read(4);
  if (!lengthBytes) return false;
  const head = await readDocumentAfterLength(reader, lengthBytes, 'namespace header');
  if (!head) throw corrupt('two terminators in a row');
  const ns = `${head.db}.${head.collection}`;
  const entry = collections.get(ns) ?? addUnlisted(collections, ns, String(head.collection));
  if (entry.ended) throw corrupt(`data for ${ns} after its end marker`);
  if (head.EOF === true) {
    entry.ended = true;
    if (await readDocumentOrTerminator(reader, 'terminator'))
      throw corrupt(`no terminator after the end of ${ns}`);
    return true;
  }
  for (;;) {
    const doc = await readRawOrTerminator(reader, ns);
    if (!doc) return true;
    entry.documents += 1;
    if (decode.has(entry.name)) {
      const list = decoded[entry.name] ?? [];
      list.push(BSON.deserialize(doc));
      decoded[entry.name] = list;
    }
  }
}

function assertEveryCollectionEnded(collections: Collections): void {
  for (const [ns, entry] of collections) {
    if (entry.expectData && !entry.ended)
      throw corrupt(`archive truncated: ${ns} has no end marker`);
  }
}

function addUnlisted(collections: Collections, ns: string, name: string): CollectionEntry {
  const entry = { name, documents: 0, indexes: [], ended: false, expectData: true };
  collections.set(ns, entry);
  return entry;
}

function corrupt(reason: string): BackupError {
  return new BackupError('corrupt-archive', `corrupt archive: ${reason}`);
}

async function readDocument(reader: ByteReader, what: string): Promise<Document> {
  const doc = await readDocumentOrTerminator(reader, what);
  if (!doc) throw corrupt(`terminator where the ${what} should be`);
  return doc;
}

async function readDocumentOrTerminator(
  reader: ByteReader,
  what: string,
): Promise<Document | undefined> {
  const lengthBytes = await reader.read(4);
  if (!lengthBytes) throw corrupt(`archive ends before the ${what}`);
  return readDocumentAfterLength(reader, lengthBytes, what);
}

async function readDocumentAfterLength(
  reader: ByteReader,
  lengthBytes: Buffer,
  what: string,
): Promise<Document | undefined> {
  const raw = await readRawAfterLength(reader, lengthBytes, what);
  return raw ? BSON.deserialize(raw) : undefined;
}

async function readRawOrTerminator(reader: ByteReader, what: string): Promise<Buffer | undefined> {
  const lengthBytes = await reader.read(4);
  if (!lengthBytes) throw corrupt(`archive ends inside ${what}`);
  return readRawAfterLength(reader, lengthBytes, what);
}

async function readRawAfterLength(
  reader: ByteReader,
  lengthBytes: Buffer,
  what: string,
): Promise<Buffer | undefined> {
  const length = lengthBytes.readInt32LE(0);
  if (length === TERMINATOR) return undefined;
  if (length < 5 || length > MAX_DOCUMENT_BYTES)
    throw corrupt(`bad document length ${length} in ${what}`);
  const rest = await reader.read(length - 4);
  if (rest?.[rest.length - 1] !== 0) throw corrupt(`truncated document in ${what}`);
  return Buffer.concat([lengthBytes, rest]);
}
