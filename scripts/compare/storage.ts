import type pg from 'pg';
import type { Database } from '../../src/db/connection.ts';
import type { Dataset } from '../bench/seed.ts';
import { SIZES } from './sql.ts';

/** Bytes per user, post or follow: data and indexes, each side. null where the engine is silent. */
export interface StorageRow {
  entity: 'user' | 'post' | 'follow';
  count: number;
  sql: { data: number; indexes: number; tables: string[] };
  doc: { data: number; indexes: number; collections: string[] } | null;
}

/** What each entity is made of on each side: a post is its row plus its tag links and tags. */
const PARTS = {
  user: { tables: ['user', 'profile'], collections: ['users'] },
  post: { tables: ['post', 'post_tags', 'tag'], collections: ['posts', 'tags'] },
  follow: { tables: ['followers'], collections: ['follows'] },
} as const;

type Sizes = Map<string, { data: number; indexes: number }>;

async function sqlSizes(client: pg.Client): Promise<Sizes> {
  const rows = (await client.query(SIZES)).rows;
  return new Map(
    rows.map((r) => [r.table, { data: Number(r.table_bytes), indexes: Number(r.index_bytes) }]),
  );
}

/** collStats' storageSize (on disk) and totalIndexSize; missing when the engine has neither. */
async function docSizes(db: Database): Promise<Sizes | null> {
  const sizes: Sizes = new Map();
  for (const name of ['users', 'posts', 'tags', 'follows']) {
    const stats = await db.connection.db?.command({ collStats: name }).catch(() => undefined);
    if (!stats || stats.storageSize === undefined || stats.totalIndexSize === undefined)
      return null;
    sizes.set(name, { data: Number(stats.storageSize), indexes: Number(stats.totalIndexSize) });
  }
  return sizes;
}

function sum(sizes: Sizes, names: readonly string[]) {
  let data = 0;
  let indexes = 0;
  for (const name of names) {
    data += sizes.get(name)?.data ?? 0;
    indexes += sizes.get(name)?.indexes ?? 0;
  }
  return { data, indexes };
}

/** Sizes right after loading, before any measured write, per entity of the dataset. */
export async function measureStorage(
  client: pg.Client,
  db: Database,
  data: Dataset,
): Promise<StorageRow[]> {
  const sql = await sqlSizes(client);
  const doc = await docSizes(db);
  const counts = { user: data.users, post: data.posts, follow: data.follows };
  return (Object.keys(PARTS) as (keyof typeof PARTS)[]).map((entity) => {
    const { tables, collections } = PARTS[entity];
    const per = (s: { data: number; indexes: number }) => ({
      data: Math.round(s.data / counts[entity]),
      indexes: Math.round(s.indexes / counts[entity]),
    });
    return {
      entity,
      count: counts[entity],
      sql: { ...per(sum(sql, tables)), tables: [...tables] },
      doc: doc ? { ...per(sum(doc, collections)), collections: [...collections] } : null,
    };
  });
}
