import type { ObjectId } from 'mongodb';
import type pg from 'pg';
import type { Database } from '../../src/db/connection.ts';
import type { Dataset } from '../bench/seed.ts';
import type { IdMap } from './load-sql.ts';

/** How a side sends SQL: a plain client, or one that counts or explains what passes. */
export interface Sql {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
}

export function plainSql(client: pg.Client): Sql {
  return {
    async query<R extends object>(text: string, values?: unknown[]) {
      return (await client.query<R>(text, values)).rows;
    },
  };
}

/** Who and what the operations read and write, the same on both sides. */
export interface Subjects {
  /** Follows the most prolific authors; reads the feed and writes the posts. */
  reader: ObjectId;
  readerName: string;
  /** The most prolific author: a user's posts, counts, followers. */
  author: ObjectId;
  post: ObjectId;
  tag: string;
  /** Follows users by rank in the write test (some edges exist already: a repeat is a no-op). */
  followerRank: number;
  userIds: ObjectId[];
}

export interface SqlSide {
  sql: Sql;
  ids: IdMap;
  subjects: Subjects;
}

export interface DocSide {
  db: Database;
  subjects: Subjects;
}

export function sqlId(map: Map<string, number>, id: ObjectId): number {
  const found = map.get(String(id));
  if (found === undefined) throw new Error(`no relational row for ${String(id)}`);
  return found;
}

export function subjectsOf(data: Dataset): Subjects {
  const reader = data.feedUserId;
  const readerRank = data.userIds.findIndex((id) => id.equals(reader));
  return {
    reader,
    readerName: `bench_${readerRank}`,
    author: data.userIds[0] as ObjectId,
    post: data.samplePostIds[Math.floor(data.samplePostIds.length / 2)] as ObjectId,
    // tag0 is the most frequent name of the bench's skewed vocabulary.
    tag: 'tag0',
    followerRank: 1,
    userIds: data.userIds,
  };
}
