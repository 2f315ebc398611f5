import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/db/engine-record.ts';
import { acquireFileLock, type FileLock } from '../../src/process/file-lock.ts';

// The data folder's lock as the engine's commands take it (src/db/engine-record.ts), on top of the
// helper test/process/file-lock.test.ts covers: what a command that finds it held does and says.
describe('lockDataDir, while another command holds the data folder', () => {
  let dir: string;
  let other: FileLock;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engine-lock-'));
    other = await acquireFileLock(join(dir, 'engine.lock'), {
      name: 'the engine lock',
      holder: 'npm run db',
    });
  });
  afterEach(async () => {
    await other.release(); // a second release of a lock is harmless
    await rm(dir, { recursive: true, force: true });
  });

  it('without wait, answers undefined at once (the engine host looks again later)', async () => {
    expect(await lockDataDir(dir, { wait: false })).toBeUndefined();
  });

  it('with wait, says once whom it waits for and takes the lock when it is released', async () => {
    const lines: string[] = [];
    const waiting = lockDataDir(dir, { wait: true, log: (line) => lines.push(line) });
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1);
    expect(lines[0]).toMatch(
      /^waiting for another command that is starting or stopping the engine: pid \d+ \(npm run db\) since /,
    );

    await other.release();
    const unlock = await waiting;
    expect(unlock).toBeTypeOf('function');
    expect(await lockDataDir(dir, { wait: false })).toBeUndefined();
    await unlock?.();
  });

  it('a wait ends with the reason of the command’s abort (a Ctrl-C)', async () => {
    const abort = new AbortController();
    const waiting = lockDataDir(dir, {
      wait: true,
      signal: abort.signal,
      log: () => abort.abort(new Error('interrupted by SIGINT')),
    });
    await expect(waiting).rejects.toThrow('interrupted by SIGINT');
  });
});
