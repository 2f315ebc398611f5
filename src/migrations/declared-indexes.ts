import type { CreateIndexesOptions, Db, Document, IndexSpecification } from 'mongodb';
import { ScriptError } from '../process/script-error.ts';
import { describeIndex } from './diff.ts';
import type { IndexState, ModelState } from './model-state.ts';

export interface IndexProblem {
  collection: string;
  index: IndexState;
  kind: 'missing' | 'different';
  /** One line for an operator: what is declared and what the database has. */
  line: string;
}

/**
 * The indexes the models declare that the database lacks or has in another shape (other keys or
 * uniqueness), unique ones first: a missing unique index lets duplicates in.
 */
export async function compareDeclaredIndexes(db: Db, state: ModelState): Promise<IndexProblem[]> {
  const problems: IndexProblem[] = [];
  for (const [collection, { indexes }] of Object.entries(state.collections)) {
    const live = await liveIndexes(db, collection);
    for (const index of indexes) {
      const found = live.get(index.name);
      if (!found) {
        problems.push({
          collection,
          index,
          kind: 'missing',
          line: `${collection}: index ${describeIndex(index)} is missing`,
        });
      } else if (!sameKeyAndUniqueness(found, index)) {
        problems.push({
          collection,
          index,
          kind: 'different',
          line:
            `${collection}: index ${index.name} is ${JSON.stringify(found.key)}` +
            `${found.unique ? ' unique' : ''} in the database, ${describeIndex(index)} in the models`,
        });
      }
    }
  }
  return problems.sort((a, b) => Number(Boolean(b.index.unique)) - Number(Boolean(a.index.unique)));
}

/**
 * Builds the declared indexes the database lacks (after a restore without indexes). An index of
 * the same name in another shape is left alone and returned: changing it is a migration's job.
 */
export async function buildDeclaredIndexes(
  db: Db,
  state: ModelState,
  log: (line: string) => void,
): Promise<IndexProblem[]> {
  const problems = await compareDeclaredIndexes(db, state);
  const missing = problems.filter((p) => p.kind === 'missing');
  for (const problem of missing) await assertDataHasKey(db, problem);
  for (const problem of missing) {
    const { name, key, ...options } = problem.index;
    log(`building ${problem.collection}: ${describeIndex(problem.index)}`);
    // Sequential, unique ones first: a duplicate in the data fails here with the server's
    // message naming the key, before the others take time.
    await db
      .collection(problem.collection)
      .createIndex(key as IndexSpecification, { name, ...options } as CreateIndexesOptions);
  }
  return problems.filter((p) => p.kind === 'different');
}

/**
 * A unique index (not partial, not sparse) needs its fields in every document: one that lacks
 * them is indexed as null and can no longer be found by the field (a user by usernameKey). Such
 * data is behind the schema, e.g. stamped past the migration that fills the field.
 */
async function assertDataHasKey(db: Db, { collection, index }: IndexProblem): Promise<void> {
  if (!index.unique || index.sparse || index.partialFilterExpression) return;
  const fields = Object.keys(index.key);
  const lacking = await db
    .collection(collection)
    .countDocuments({ $or: fields.map((field) => ({ [field]: { $exists: false } })) });
  if (lacking === 0) return;
  throw new ScriptError(
    'data-behind-schema',
    `${collection}: ${lacking} documents lack ${fields.join(', ')}, which the unique index ${index.name} needs: the data is behind the schema (stamped past the migration that fills it?); run that migration (down, then up) rather than stamp; nothing was built`,
  );
}

async function liveIndexes(db: Db, collection: string): Promise<Map<string, Document>> {
  try {
    const live = await db.collection(collection).listIndexes().toArray();
    return new Map(live.map((index) => [String(index.name), index]));
  } catch (error) {
    if ((error as { code?: number }).code === 26) return new Map(); // NamespaceNotFound
    throw error;
  }
}

export function sameKeyAndUniqueness(found: Document, index: IndexState): boolean {
  return (
    JSON.stringify(found.key) === JSON.stringify(index.key) &&
    Boolean(found.unique) === Boolean(index.unique)
  );
}
