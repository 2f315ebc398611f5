import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, type LockMechanism } from '../../src/backups/lock.ts';
import { projectRoot } from '../../src/process/project-root.ts';
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
  let holder: ChildProcess | undefined;
  beforeEach(async () => {
    dir = await tempDir(`lock-${mechanism}`);
  });
  afterEach(async () => {
    holder?.kill('SIGKILL');
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
      // node itself, not the tsx wrapper: killing the wrapper would leave its node child holding on.
      holder = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolveHeld, reject) => {
        holder?.stdout?.once('data', () => resolveHeld());
        holder?.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
      });
      await expect(acquireLock(dir.path, { mechanism })).rejects.toMatchObject({
        code: 'lock-held',
      });

      const exited = new Promise((r) => holder?.once('exit', r));
      holder.kill('SIGKILL');
      await exited;

      const lock = await retry(() => acquireLock(dir.path, { mechanism }));
      expect(lock.mechanism).toBe(mechanism);
      await lock.release();
    },
  );
});

// flock(1) notices the closed pipe a moment after the holder dies.
async function retry<T>(fn: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
