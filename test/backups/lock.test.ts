import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  acquireLock,
  assertLockHeld,
  LOCK_FILE,
  type LockMechanism,
} from '../../src/backups/lock.ts';
import { projectRoot } from '../../src/process/project-root.ts';
import { childPidWith, type RunningProcess, startTs } from '../helpers/process.ts';
import { tempDir } from './helpers.ts';

const root = projectRoot;
const probeDir = await tempDir('lock-probe');
const flockAvailable = await acquireLock(probeDir.path, { mechanism: 'auto' }).then(
  async (lock) => {
    await lock.release();
    await probeDir.remove();
    return lock.mechanism === 'flock';
  },
);
if (!flockAvailable) console.warn('flock(1) not found: only the socket lock is tested');

describe.each<LockMechanism>(['flock', 'socket'])('the backup lock (%s)', (mechanism) => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let holder: RunningProcess | undefined;
  beforeEach(async () => {
    dir = await tempDir(`lock-${mechanism}`);
  });
  afterEach(async () => {
    holder?.child.kill('SIGKILL');
    await dir.remove();
  });

  it.skipIf(mechanism === 'flock' && !flockAvailable)(
    'refuses a second holder until the first releases',
    async () => {
      const first = await acquireLock(dir.path, { mechanism });
      await expect(acquireLock(dir.path, { mechanism })).rejects.toMatchObject({
        code: 'lock-held',
      });
      await first.release();
      const second = await acquireLock(dir.path, { mechanism });
      expect(second.mechanism).toBe(mechanism);
      await second.release();
    },
  );

  it.skipIf(mechanism === 'flock' && !flockAvailable)(
    'is released by the OS when the holding process is killed',
    async () => {
      // .mts: outside the package, a .ts file would run as CommonJS (no top-level await).
      const script = join(dir.path, 'holder.mts');
      await writeFile(
        script,
        `import { acquireLock } from ${JSON.stringify(join(root, 'src/backups/lock.ts'))};\n` +
          `await acquireLock(${JSON.stringify(dir.path)}, { mechanism: '${mechanism}' });\n` +
          `console.log('held');\nsetInterval(() => {}, 1000);\n`,
      );
      holder = startTs(script, [], { env: {} });
      await holder.waitFor(/held/, 'stdout');
      await expect(acquireLock(dir.path, { mechanism })).rejects.toMatchObject({
        code: 'lock-held',
      });

      holder.child.kill('SIGKILL');
      await holder.done;

      // flock(1) notices the closed pipe a moment after the holder dies.
      const lock = await vi.waitFor(() => acquireLock(dir.path, { mechanism }), {
        timeout: 10_000,
        interval: 100,
      });
      expect(lock.mechanism).toBe(mechanism);
      await lock.release();
    },
  );
});

describe.skipIf(!flockAvailable)('the backup lock, when its flock process is killed', () => {
  it('assertLockHeld fails with lock-held (exit 6), so the run stops before pruning', async () => {
    const dir = await tempDir('lock-lost');
    try {
      const lock = await acquireLock(dir.path, { mechanism: 'flock' });
      expect(() => assertLockHeld(lock)).not.toThrow();
      const flockPid = childPidWith(join(dir.path, LOCK_FILE));
      expect(flockPid).toBeDefined();
      process.kill(-Number(flockPid), 'SIGKILL');

      await vi.waitFor(() => expect(() => assertLockHeld(lock)).toThrow(/was lost while held/), {
        timeout: 10_000,
        interval: 100,
      });
      const failure = (() => {
        try {
          assertLockHeld(lock);
        } catch (error) {
          return error;
        }
      })();
      expect(failure).toMatchObject({ code: 'lock-held', exitCode: 6 });
      await lock.release();
    } finally {
      await dir.remove();
    }
  });
});
