import { trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import type { Keyset } from '../shared/cursor.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import type { TagView } from './schemas.ts';

const MOST_USED_FIRST: Keyset = {
  kind: 'tags',
  keys: [
    { field: 'postCount', order: -1, type: 'count' },
    { field: 'name', order: 1, type: 'name' },
  ],
};

/** Tags in use, most used first: one indexed read ({postCount: -1, name: 1}). */
export async function findTagPage(db: Database, options: PageRequest): Promise<Page<TagView>> {
  const page = keysetQuery(MOST_USED_FIRST, options);
  const tags = await db.Tag.find(
    { $and: [{ postCount: trusted({ $gt: 0 }) }, page.filter] },
    { _id: 0, name: 1, postCount: 1 },
  )
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference)
    .lean();
  return keysetPage(MOST_USED_FIRST, tags, options.limit, ({ name, postCount }) => ({
    name,
    postCount,
  }));
}
