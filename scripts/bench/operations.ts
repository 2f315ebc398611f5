import { type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, MongoClient } from 'mongodb';
import { transformInBatches, withBatchSettings } from '../../src/migrations/migration-kit.ts';
import { projectRoot } from '../../src/process/project-root.ts';

export interface MemoryPeak {
  /** Highest sum of resident memory over the whole process tree at one sample (bytes). */
  treePeakBytes: number;
  /** Highest peak (VmHWM) of any single process of the tree, and its name. */
  largestBytes: number;
  largestName: string;
}

export type MigrationResult = Awaited<ReturnType<typeof measureMigration>>;
export type BackupResult = Awaited<ReturnType<typeof measureBackup>>;

// --- Memory of a process tree, from /proc (Linux only) ------------------------------------------

function status(pid: number): { rss: number; hwm: number; name: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const name = /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '?';
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024, name };
  } catch {
    return undefined;
  }
}

function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the ppid follows the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = (pid: number): number[] => [pid, ...(parents.get(pid) ?? []).flatMap(tree)];
  return tree(root);
}

/** Samples a process tree every 50 ms until stopped; VmHWM catches a peak between samples. */
export function sampleMemory(root: number): { stop(): MemoryPeak } {
  const peak: MemoryPeak = { treePeakBytes: 0, largestBytes: 0, largestName: '' };
  const sample = () => {
    let sum = 0;
    for (const pid of descendants(root)) {
      const s = status(pid);
      if (!s) continue;
      sum += s.rss;
      if (s.hwm > peak.largestBytes) {
        peak.largestBytes = s.hwm;
        peak.largestName = s.name;
      }
    }
    peak.treePeakBytes = Math.max(peak.treePeakBytes, sum);
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Runs a command to completion while sampling its memory; rejects with its last stderr line. */
async function runMeasured(label: string, [file, ...args]: string[], options: SpawnOptions) {
  const started = performance.now();
  const child = spawn(file as string, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const memory = sampleMemory(child.pid as number);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const [code] = await once(child, 'exit')
    .catch((error: Error) => Promise.reject(new Error(`${label}: ${error.message}`)))
    .finally(() => memory.stop());
  if (code !== 0)
    throw new Error(`${label} exited with ${code}: ${stderr.trim().split('\n').at(-1)}`);
  const seconds = (performance.now() - started) / 1000;
  return { command: label, seconds, stdout, memory: memory.stop() };
}

// --- The migration ----------------------------------------------------------------------------

/**
 * The migration itself, in the child process (`node operations.ts migrate`): the kit's
 * transformInBatches derives `bodyLength` from every document's body, repeating its selecting
 * condition in each write as migrations must.
 */
async function migrate(env: NodeJS.ProcessEnv): Promise<{ docs: number; seconds: number }> {
  const { MONGODB_URI: uri, BENCH_DB: dbName, BENCH_COLLECTION: collection = 'posts' } = env;
  if (!uri || !dbName) throw new Error('MONGODB_URI and BENCH_DB must be set');
  const started = performance.now();
  const client = await MongoClient.connect(uri);
  try {
    const settings = { batchSize: Number(env.BENCH_BATCH ?? 1000), onProgress: () => {} };
    const { seen, written } = await withBatchSettings(settings, () =>
      transformInBatches(client.db(dbName), collection, {
        label: `${collection}.bodyLength`,
        filter: { bodyLength: { $exists: false } },
        projection: { body: 1 },
        toWrite: (doc) => ({
          updateOne: {
            filter: { _id: doc._id, bodyLength: { $exists: false } },
            update: { $set: { bodyLength: String(doc.body).length } },
          },
        }),
      }),
    );
    if (written !== seen) throw new Error(`wrote ${written} of ${seen} documents`);
    return { docs: seen, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.close();
  }
}

/** The migration in a process of its own, so that its memory can be measured. */
export async function measureMigration(
  env: NodeJS.ProcessEnv,
  collection: string,
  batchSize: number,
) {
  const command = [process.execPath, import.meta.filename, 'migrate'];
  const jobEnv = { ...env, BENCH_COLLECTION: collection, BENCH_BATCH: String(batchSize) };
  const { stdout, memory } = await runMeasured('migration', command, { env: jobEnv });
  const last = stdout.trim().split('\n').at(-1) ?? '{}';
  const { docs, seconds } = JSON.parse(last) as { docs: number; seconds: number };
  return { collection, docs, seconds, docsPerSecond: docs / seconds, batchSize, memory };
}

// --- The backup -------------------------------------------------------------------------------

function runNpm(script: string, env: NodeJS.ProcessEnv) {
  return runMeasured(`npm run ${script}`, ['npm', 'run', '--silent', script], {
    cwd: projectRoot,
    env,
  });
}

/** `npm run backup` then `npm run backup:verify` on the bench database, into a scratch folder. */
export async function measureBackup(db: Db, env: NodeJS.ProcessEnv) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-backup-'));
  try {
    const backupEnv = { ...env, BACKUP_DIR: dir, MONGODB_DB: db.databaseName };
    const { stdout: _, ...backup } = await runNpm('backup', backupEnv);
    const archives = readdirSync(dir).filter((f) => f.endsWith('.gz'));
    if (archives.length !== 1) throw new Error(`npm run backup left ${archives.length} archives`);
    const archiveBytes = statSync(join(dir, archives[0] as string)).size;
    const dataBytes = Number((await db.stats()).dataSize ?? 0);
    const { stdout: __, ...verify } = await runNpm('backup:verify', backupEnv);
    const mbPerSecond = dataBytes / 1e6 / backup.seconds;
    return { backup: { ...backup, archiveBytes, dataBytes, mbPerSecond }, verify };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1] && process.argv[2] === 'migrate') {
  await migrate(process.env).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: Error) => {
      console.error(`migration failed: ${error.message.split('\n')[0]}`);
      process.exit(1);
    },
  );
}
