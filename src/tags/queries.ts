import { trusted } from 'mongoose';
import type { Database } from '../db/connection.ts';
import { keysetPage, keysetQuery, type Page, type PageRequest } from '../shared/page.ts';
import { TAG_LISTS, type TagView } from './schemas.ts';

/**
 * Tags in use, most used first (index {postCount: -1, name: 1}) or by name (the unique index on
 * name): one indexed read either way.
 */
export async function findTagPage(
  db: Database,
  options: PageRequest & { sort: keyof typeof TAG_LISTS },
): Promise<Page<TagView>> {
  const list = TAG_LISTS[options.sort];
  const page = keysetQuery(list, options);
  const tags = await db.Tag.find(
    { $and: [{ postCount: trusted({ $gt: 0 }) }, page.filter] },
    { _id: 0, name: 1, postCount: 1 },
  )
    .sort(page.sort)
    .limit(page.limit)
    .read(db.listReads.readPreference)
    .lean();
  return keysetPage(list, tags, options.limit, ({ name, postCount }) => ({ name, postCount }));
}
