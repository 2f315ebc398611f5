import type { Db } from 'mongodb';
import { ScriptError } from '../process/script-error.ts';
import { appModels } from './app-models.ts';
import { compareDeclaredIndexes } from './declared-indexes.ts';
import { describeLock, holderIsDead, readMigrationLock } from './lock.ts';
import { extractModelState } from './model-state.ts';
import { changelogProblems, type MigrationStatus, readMigrationStatus } from './status.ts';

type Out = (line: string) => void;

/** status: every file, applied when or pending, the lock; fails when the changelog lies. */
export async function statusReport(db: Db, out: Out): Promise<number> {
  const status = await readMigrationStatus(db);
  for (const file of status.files) {
    const late = status.outOfOrder.includes(file.fileName) ? '  (out of order)' : '';
    const when = file.appliedAt ? file.appliedAt.toISOString() : 'pending'.padEnd(24);
    out(`${when}  ${file.fileName}${late}`);
  }
  const lock = await readMigrationLock(db);
  if (lock) {
    const gone = holderIsDead(lock.holder)
      ? ' (that process is gone: the next run takes it over)'
      : '';
    out(`lock: ${describeLock(lock)}${gone}`);
  }
  assertTruthful(status, out);
  return 0;
}

/** current: the newest applied migration, as `alembic current` prints the revision. */
export async function currentReport(db: Db, out: Out): Promise<number> {
  const status = await readMigrationStatus(db);
  const newest = status.applied.at(-1)?.fileName;
  const state = status.pending.length === 0 ? '(head)' : `(${status.pending.length} pending)`;
  out(newest ? `${newest} ${state}` : `base: nothing applied ${state}`);
  assertTruthful(status, out);
  return 0;
}

/**
 * check: the deploy gate. Fails, naming what is wrong, when the changelog lies, anything is
 * pending, or a declared index is missing or different (unique ones first).
 */
export async function checkReport(db: Db, dbName: string, out: Out): Promise<number> {
  const status = await readMigrationStatus(db);
  assertTruthful(status, out);
  if (status.pending.length > 0) {
    for (const name of status.pending) out(`pending: ${name}`);
    throw new ScriptError(
      'migrations-pending',
      `${status.pending.length} pending migrations on ${dbName}: ${status.pending.join(', ')}`,
    );
  }
  const indexes = await compareDeclaredIndexes(db, extractModelState(appModels()));
  for (const problem of indexes) out(`index ${problem.kind}: ${problem.line}`);
  const first = indexes[0];
  if (first) {
    throw new ScriptError(
      'indexes-missing',
      `${indexes.length} declared indexes are missing or different on ${dbName}, first ${first.line}; ` +
        'build missing ones with `npm run migrate -- indexes`',
    );
  }
  out(`all ${status.files.length} migrations applied on ${dbName}, every declared index present`);
  return 0;
}

function assertTruthful(status: MigrationStatus, out: Out): void {
  const problems = changelogProblems(status);
  if (problems.length === 0) return;
  for (const line of problems) out(line);
  throw new ScriptError(
    'changelog-inconsistent',
    `the changelog cannot be trusted: ${problems.join('; ')}; see \`npm run migrate -- repair --dry-run\``,
  );
}
