import type { Db } from 'mongodb';
import type { Capabilities } from './capabilities.ts';

/**
 * Puts collection `from` in the place of `to` in the same database, indexes and all. MongoDB does
 * it in one renameCollection with dropTarget; FerretDB v1 has no dropTarget (FerretDB#2565), so
 * there `to` is dropped first and is missing for the moment between the two commands.
 */
export async function replaceCollection(
  db: Db,
  from: string,
  to: string,
  engine: Capabilities['engine'],
): Promise<void> {
  if (engine === 'mongodb') {
    await db.renameCollection(from, to, { dropTarget: true });
    return;
  }
  const existing = await db.listCollections({ name: to }, { nameOnly: true }).toArray();
  if (existing.length > 0) await db.collection(to).drop();
  await db.renameCollection(from, to);
}
