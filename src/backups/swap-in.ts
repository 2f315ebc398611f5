import { type Db, MongoServerError } from 'mongodb';
import { BackupError } from './errors.ts';

/** renameCollection's answer when the new name is taken: a writer recreated it meanwhile. */
const NAMESPACE_EXISTS = 48;
const ATTEMPTS = 3;

interface Step {
  name: string;
  /** The target's collection was moved aside to `parked + name`. */
  parked: boolean;
  /** The staging collection is in its place. */
  swapped: boolean;
}

/**
 * Puts each staging collection (`staging + name`) in the place of the target's, and keeps every
 * replaced collection aside (`parked + name`) until `verify` passed over the result: any failure
 * puts every original back, so the target ends restored or as it was. The same renames on every
 * engine (MongoDB's dropTarget would be atomic per collection, FerretDB v1 has none, and neither
 * could be undone). A collection recreated between the two renames (a writer that does not honour
 * the write hold) is moved aside too and the rename tried again.
 */
export async function swapIn(
  db: Db,
  names: string[],
  prefixes: { staging: string; parked: string },
  verify: () => Promise<void>,
): Promise<void> {
  const present = new Set(
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
  );
  const steps: Step[] = [];
  try {
    for (const name of names) {
      const step: Step = { name, parked: false, swapped: false };
      steps.push(step);
      if (present.has(name)) {
        await db.renameCollection(name, prefixes.parked + name);
        step.parked = true;
      }
      if (present.has(prefixes.staging + name)) {
        await renameRetrying(db, prefixes.staging + name, name, prefixes.parked);
        step.swapped = true;
      }
    }
    await verify();
  } catch (error) {
    await rollBack(db, steps, prefixes);
    await dropPrefixed(db, prefixes.parked); // what intruders wrote while the hold was ignored
    throw error instanceof BackupError
      ? error
      : new BackupError(
          'restore-failed',
          `swapping the restored collections in failed: ${(error as Error).message}; every collection was put back, the target was not changed`,
        );
  }
  await dropPrefixed(db, prefixes.parked);
}

async function renameRetrying(db: Db, from: string, to: string, parked: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.renameCollection(from, to);
      return;
    } catch (error) {
      const taken = error instanceof MongoServerError && error.code === NAMESPACE_EXISTS;
      if (!taken || attempt >= ATTEMPTS) throw error;
      await db.renameCollection(to, `${parked}${attempt}_${to}`);
    }
  }
}

/** Newest first: a swapped-in collection goes back to staging, the parked one to its name. */
async function rollBack(
  db: Db,
  steps: Step[],
  prefixes: { staging: string; parked: string },
): Promise<void> {
  for (const step of steps.toReversed()) {
    const exists = async () =>
      (await db.listCollections({ name: step.name }, { nameOnly: true }).toArray()).length > 0;
    if (step.swapped) await db.renameCollection(step.name, prefixes.staging + step.name);
    if (!step.parked) continue;
    // Only a writer that ignored the hold can have created it since: the original wins.
    if (await exists()) await db.collection(step.name).drop();
    await db.renameCollection(prefixes.parked + step.name, step.name);
  }
}

export async function dropPrefixed(db: Db, prefix: string): Promise<void> {
  const left = await db.listCollections({}, { nameOnly: true }).toArray();
  for (const { name } of left) {
    if (name.startsWith(prefix)) await db.collection(name).drop();
  }
}
