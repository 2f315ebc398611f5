import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { redactSecrets } from '../shared/connection-string.ts';
import { LOCK_COLLECTIONS } from './bookkeeping.ts';
import { BackupError, fileSystemError } from './errors.ts';
import { toolConnectionString } from './tool-uri.ts';
import { startTool, withToolConfig } from './tools.ts';

export interface DumpSource {
  uri: string;
  dbName: string;
  /** Path of the mongodump binary. */
  mongodump: string;
  signal?: AbortSignal;
}

/** Streams mongodump's archive (stdout) into the file, hashing on the way; fsyncs the file. */
export async function dumpTo(partial: string, plan: DumpSource): Promise<string> {
  return withToolConfig(toolConnectionString(plan.uri), async (configPath) => {
    // Through stdout rather than --archive=<file>: if this process dies, mongodump's next write
    // fails and it stops too, instead of dumping on into a file nobody will finish.
    const tool = startTool(
      plan.mongodump,
      [
        '--config',
        configPath,
        '--db',
        plan.dbName,
        ...LOCK_COLLECTIONS.map((name) => `--excludeCollection=${name}`),
        '--archive',
        '--gzip',
      ],
      'pipe',
    );
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    let writeError: unknown;
    const stdout = tool.child.stdout;
    if (!stdout) throw new BackupError('internal', 'mongodump has no stdout');
    const writing = pipeline(
      stdout,
      tap,
      createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
    ).catch((error) => {
      writeError = error;
      tool.child.kill('SIGKILL');
    });
    const stop = () => tool.child.kill('SIGKILL');
    plan.signal?.addEventListener('abort', stop, { once: true });
    const code = await tool.exited;
    plan.signal?.removeEventListener('abort', stop);
    await writing;
    throwIfAborted(plan.signal);
    if (writeError) throw fileSystemError(`writing ${partial}`, writeError);
    if (code !== 0) throw dumpFailure(code, redactSecrets(tool.failureLine(), plan.uri));
    await syncFile(partial);
    return hash.digest('hex');
  });
}

function dumpFailure(code: number | null, reason: string): BackupError {
  const unreachable =
    /server selection|connection refused|no reachable servers|authentication failed/i.test(reason);
  return new BackupError(
    unreachable ? 'unreachable' : 'dump-failed',
    `mongodump exited with ${code}: ${reason}`,
  );
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const { reason } = signal;
  throw new BackupError(
    'interrupted',
    reason instanceof Error ? reason.message : `interrupted (${reason})`,
  );
}

// A rename is durable only once the directory entry is on disk.
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(resolve(path, '..'), 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
