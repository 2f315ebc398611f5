import type { Db, ObjectId } from 'mongodb';
import type { MigrationLock } from './lock.ts';
import { holdWrites, type RunOptions, resolveFile, withLock } from './runner.ts';
import { CHANGELOG_COLLECTION } from './settings.ts';
import { readMigrationStatus } from './status.ts';

interface Entry {
  _id: ObjectId;
  fileName: string;
  appliedAt: Date;
}

type LockRun = Pick<RunOptions, 'command' | 'lockWaitMs' | 'log' | 'ackWaitMs'>;

/**
 * repair: removes the changelog entries that make it lie. Of a file recorded twice, the oldest
 * entry stays (when it was first applied); entries of files this code does not have are only
 * removed with forgetUnknown, since they normally mean the database is ahead of the code.
 */
export async function repairChangelog(
  db: Db,
  options: LockRun & { dryRun: boolean; forgetUnknown: boolean },
): Promise<number> {
  const run = async () => {
    const status = await readMigrationStatus(db);
    const changelog = db.collection<Entry>(CHANGELOG_COLLECTION);
    const doomed: Entry[] = [];
    for (const { fileName } of status.duplicates) {
      const entries = await changelog.find({ fileName }).sort({ appliedAt: 1, _id: 1 }).toArray();
      doomed.push(...entries.slice(1));
    }
    if (options.forgetUnknown) {
      doomed.push(...(await changelog.find({ fileName: { $in: status.unknown } }).toArray()));
    } else {
      for (const name of status.unknown) {
        options.log(
          `kept ${name}: not in migrations/ (the database is ahead of this code? roll back with the code that has it, or repair --forget-unknown)`,
        );
      }
    }
    const verb = options.dryRun ? 'would remove' : 'removing';
    for (const entry of doomed) {
      options.log(
        `${verb} changelog entry ${entry.fileName} applied at ${entry.appliedAt.toISOString()}`,
      );
    }
    if (!options.dryRun && doomed.length > 0) {
      await changelog.deleteMany({ _id: { $in: doomed.map((e) => e._id) } });
    }
    options.log(
      doomed.length === 0
        ? 'nothing to repair'
        : `${options.dryRun ? 'dry run: would remove' : 'removed'} ${doomed.length} changelog entries`,
    );
    return doomed.length;
  };
  return options.dryRun ? run() : withLock(db, options, run);
}

/**
 * stamp: records the migrations up to and including `target` (or none, for `base`) as applied,
 * without running them, and forgets the later ones. For a database whose data is known to be in
 * that shape (built by other means, or repaired by hand).
 */
export async function stampChangelog(
  db: Db,
  target: string,
  options: LockRun & { dryRun: boolean },
): Promise<{ added: string[]; removed: string[] }> {
  const run = async (lock?: MigrationLock) => {
    const status = await readMigrationStatus(db);
    const to = target === 'base' ? '' : resolveFile(status, target);
    const applied = new Set(status.applied.map((a) => a.fileName));
    const added = status.files.map((f) => f.fileName).filter((n) => n <= to && !applied.has(n));
    const removed = [...applied].filter((n) => n > to);
    const verb = options.dryRun ? 'would mark' : 'marking';
    for (const name of added) options.log(`${verb} ${name} applied (not run)`);
    for (const name of removed) options.log(`${verb} ${name} pending (its down is not run)`);
    if (lock && added.length + removed.length > 0) {
      // The API's idea of the schema changes with the changelog: it stops writing first.
      await holdWrites(lock, options);
      const changelog = db.collection(CHANGELOG_COLLECTION);
      const migrationBlock = Date.now();
      if (added.length > 0) {
        await changelog.insertMany(
          added.map((fileName) => ({
            fileName,
            appliedAt: new Date(),
            migrationBlock,
            stamped: true,
          })),
        );
      }
      if (removed.length > 0) await changelog.deleteMany({ fileName: { $in: removed } });
    }
    return { added, removed };
  };
  return options.dryRun ? run() : withLock(db, options, run);
}
