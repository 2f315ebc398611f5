import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  acquireFileLock,
  type FileLockOptions,
  type LockMechanism,
} from '../../src/process/file-lock.ts';
import { projectRoot } from '../../src/process/project-root.ts';
import { childPidWith, type RunningProcess, startTs } from '../helpers/process.ts';

const helper = join(projectRoot, 'src/process/file-lock.ts');

const probeDir = await mkdtemp(join(tmpdir(), 'file-lock-probe-'));
const flockAvailable = await acquireFileLock(join(probeDir, 'probe.lock'), { name: 'probe' }).then(
  async (lock) => {
    await lock.release();
    await rm(probeDir, { recursive: true, force: true });
    return lock.mechanism === 'flock';
  },
);
if (!flockAvailable) console.warn('flock(1) not found: only the socket lock is tested');

describe.each<LockMechanism>(['flock', 'socket'])('acquireFileLock (%s)', (mechanism) => {
  let dir: string;
  let lockPath: string;
  let holder: RunningProcess | undefined;
  const options = (more: Partial<FileLockOptions> = {}): FileLockOptions => ({
    name: 'the test lock',
    mechanism,
    ...more,
  });

  /** Another process that takes the lock, says "held", and keeps it until it is killed. */
  async function holdInAnotherProcess(): Promise<RunningProcess> {
    const script = join(dir, 'holder.mts');
    await writeFile(
      script,
      `import { acquireFileLock } from ${JSON.stringify(helper)};\n` +
        `await acquireFileLock(${JSON.stringify(lockPath)}, { name: 'the test lock', mechanism: '${mechanism}', holder: 'the holder script' });\n` +
        `console.log('held');\nsetInterval(() => {}, 1000);\n`,
    );
    holder = startTs(script, [], { env: {}, timeoutMs: 120_000 });
    await holder.waitFor(/held/, 'stdout');
    return holder;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), `file-lock-${mechanism}-`));
    lockPath = join(dir, 'test.lock');
    holder = undefined;
  });
  afterEach(async () => {
    if (holder) {
      holder.child.kill('SIGCONT');
      holder.child.kill('SIGKILL');
      await holder.done;
    }
    await rm(dir, { recursive: true, force: true });
  });

  const run = it.skipIf(mechanism === 'flock' && !flockAvailable);

  run('a second taker fails at once with lock-held, naming the holder', async () => {
    const first = await acquireFileLock(lockPath, options({ holder: 'the first taker' }));
    expect(first.mechanism).toBe(mechanism);
    const started = Date.now();
    const second = acquireFileLock(lockPath, options());
    await expect(second).rejects.toMatchObject({ code: 'lock-held' });
    await expect(second).rejects.toThrow(
      /the test lock .* is held by pid \d+ \(the first taker\) since /,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    await first.release();
    const third = await acquireFileLock(lockPath, options());
    await third.release();
  });

  run(
    'a holder killed with SIGKILL frees the lock at once, not after a staleness delay',
    async () => {
      const running = await holdInAnotherProcess();
      await expect(acquireFileLock(lockPath, options())).rejects.toThrow(
        /held by pid \d+ \(the holder script\)/,
      );

      running.child.kill('SIGKILL');
      await running.done;
      const killedAt = Date.now();
      // flock(1)'s child notices the closed pipe a moment later; 10 s would be a staleness timer.
      const lock = await vi.waitFor(() => acquireFileLock(lockPath, options()), {
        timeout: 8_000,
        interval: 100,
      });
      expect(Date.now() - killedAt).toBeLessThan(8_000);
      await lock.release();
    },
  );

  run('a holder paused with SIGSTOP keeps the lock: a second taker gets lock-held', async () => {
    const running = await holdInAnotherProcess();
    running.child.kill('SIGSTOP');
    await expect(acquireFileLock(lockPath, options())).rejects.toMatchObject({
      code: 'lock-held',
    });
    running.child.kill('SIGCONT');
    await expect(acquireFileLock(lockPath, options())).rejects.toMatchObject({
      code: 'lock-held',
    });
  });
});

describe.skipIf(!flockAvailable)('acquireFileLock (flock), the holder it names', () => {
  it('names a live holder from the lock file, never a dead process whose record is left there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'file-lock-record-'));
    try {
      const lockPath = join(dir, 'test.lock');
      const lock = await acquireFileLock(lockPath, { name: 'the test lock', holder: 'live one' });
      const take = () => acquireFileLock(lockPath, { name: 'the test lock', mechanism: 'flock' });
      await expect(take()).rejects.toThrow(`held by pid ${process.pid} (live one) since `);
      // What a new holder's file holds before it writes its own line: the last holder's.
      await writeFile(lockPath, 'pid 2147483646 (gone) since 2026-01-01T00:00:00.000Z\n');
      await expect(take()).rejects.toThrow(/is held by another process$/);
      await lock.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!flockAvailable)(
  'acquireFileLock (flock), when its flock process is killed',
  () => {
    it('reports the lost lock through assertHeld', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'file-lock-lost-'));
      try {
        const lockPath = join(dir, 'test.lock');
        const lock = await acquireFileLock(lockPath, { name: 'the test lock', mechanism: 'flock' });
        expect(() => lock.assertHeld()).not.toThrow();
        // The flock(1) process this test process started for that lock, as an operator's kill would.
        const flockPid = childPidWith(lockPath);
        expect(flockPid).toBeDefined();
        process.kill(-Number(flockPid), 'SIGKILL');
        await vi.waitFor(
          () => expect(() => lock.assertHeld()).toThrow(/the test lock \(.+\) was lost while held/),
          {
            timeout: 10_000,
          },
        );
        await lock.release();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
