import type { Db } from 'mongodb';
import { sameKeyAndUniqueness } from './declared-indexes.ts';
import { describeIndex } from './diff.ts';
import type { ModelState } from './model-state.ts';

/**
 * The indexes that exist on one side only, the models' or the database's (what `generate` reports
 * when a database is reachable). A difference is not an error: pending migrations, or this one,
 * may be what closes it.
 */
export async function liveIndexReport(db: Db, state: ModelState): Promise<string[]> {
  const lines: string[] = [];
  const existing = new Set(
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
  );
  for (const [collection, { indexes }] of Object.entries(state.collections)) {
    if (!existing.has(collection)) {
      lines.push(`${collection}: no such collection in the database`);
      continue;
    }
    const live = (await db.collection(collection).listIndexes().toArray()).filter(
      (index) => index.name !== '_id_',
    );
    const byName = new Map(live.map((index) => [String(index.name), index]));
    for (const index of indexes) {
      const found = byName.get(index.name);
      if (!found) lines.push(`${collection}: index ${describeIndex(index)} only in the models`);
      else if (!sameKeyAndUniqueness(found, index)) {
        lines.push(
          `${collection}: index ${index.name} is ${JSON.stringify(found.key)}${found.unique ? ' unique' : ''} in the database, ${describeIndex(index)} in the models`,
        );
      }
    }
    const declared = new Set(indexes.map((index) => index.name));
    for (const index of live) {
      if (!declared.has(String(index.name))) {
        lines.push(
          `${collection}: index ${String(index.name)} ${JSON.stringify(index.key)}${index.unique ? ' unique' : ''} only in the database`,
        );
      }
    }
  }
  return lines;
}
