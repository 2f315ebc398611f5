import { describe, expect, inject, it } from 'vitest';
import { testDbName } from '../helpers/db.ts';
import { findTools, runScript } from './helpers.ts';

// A BACKUP_DIR the kernel will not create (under /proc): every command that uses the folder
// ends non-zero with one line, in bounded time. Node 24's recursive mkdir loops for ever on
// such a path, at full CPU (src/backups/backup.ts).
const tools = findTools();
const FOLDER = '/proc/self/no-such-backups';

describe.skipIf('missing' in tools)('an unusable BACKUP_DIR', () => {
  const env = () => ({
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: testDbName('unusable'),
    BACKUP_DIR: FOLDER,
  });

  it.each([
    ['backup', []],
    ['backup-status', []],
    ['backup-verify', []],
  ] as const)(
    'npm run %s exits non-zero within 20 s with one line naming the folder',
    async (name, args) => {
      const started = Date.now();
      const run = await runScript(name, [...args], env());
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(run.code).not.toBe(0);
      expect(run.signal).toBeNull();
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toContain(FOLDER);
    },
  );
});
