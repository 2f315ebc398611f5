import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { projectRoot } from '../../src/process/project-root.ts';
import { type MemoryPeak, runMeasured, spawnTs } from './processes.ts';

export interface MigrationResult {
  collection: string;
  docs: number;
  seconds: number;
  docsPerSecond: number;
  /** Documents per cursor batch (bulkWrite commands are capped at 25 statements on FerretDB). */
  batchSize: number;
  memory: MemoryPeak;
}

export interface CommandResult {
  command: string;
  seconds: number;
  memory: MemoryPeak;
}

export interface BackupResult {
  backup: CommandResult & { archiveBytes: number; dataBytes: number; mbPerSecond: number };
  verify: CommandResult;
}

/** Fills `collection` with `count` post-shaped documents for a migration bigger than the posts. */
export async function seedMigrationProbe(db: Db, collection: string, count: number): Promise<void> {
  const target = db.collection(collection);
  for (let start = 0; start < count; start += 10_000) {
    const n = Math.min(10_000, count - start);
    await target.insertMany(
      Array.from({ length: n }, (_, j) => ({
        body: `migration probe ${start + j}: the quick brown fox jumps over the lazy dog`,
        timestamp: new Date(),
        tags: ['probe'],
      })),
      { ordered: false },
    );
  }
}

export async function measureMigration(
  env: NodeJS.ProcessEnv,
  collection: string,
  batchSize: number,
): Promise<MigrationResult> {
  const child = spawnTs('migration-child.ts', [], {
    ...env,
    BENCH_COLLECTION: collection,
    BENCH_BATCH: String(batchSize),
  });
  const { stdout, memory } = await runMeasured(child, 'migration');
  const { docs, seconds } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
  return { collection, docs, seconds, docsPerSecond: docs / seconds, batchSize, memory };
}

function runNpm(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return runMeasured(child, `npm run ${script}`);
}

/**
 * `npm run backup` then `npm run backup:verify` on the bench database, into a scratch backup
 * folder. The connection string travels in the environment only. Memory is sampled over the
 * whole process tree (npm, the script, mongodump/mongorestore).
 */
export async function measureBackup(db: Db, env: NodeJS.ProcessEnv): Promise<BackupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-backup-'));
  try {
    const backupEnv = { ...env, BACKUP_DIR: dir, MONGODB_DB: db.databaseName };
    const backup = await runNpm('backup', backupEnv);
    const archives = readdirSync(dir).filter((f) => f.endsWith('.gz'));
    if (archives.length !== 1) throw new Error(`npm run backup left ${archives.length} archives`);
    const archiveBytes = statSync(join(dir, archives[0] as string)).size;
    const stats = await db.stats();
    const dataBytes = Number(stats.dataSize ?? 0);
    const verify = await runNpm('backup:verify', backupEnv);
    return {
      backup: {
        command: 'npm run backup',
        seconds: backup.seconds,
        memory: backup.memory,
        archiveBytes,
        dataBytes,
        mbPerSecond: dataBytes / 1e6 / backup.seconds,
      },
      verify: { command: 'npm run backup:verify', seconds: verify.seconds, memory: verify.memory },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
