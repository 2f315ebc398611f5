import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listBackups } from '../../src/backups/manifest.ts';
import { localEngineSetup } from '../helpers/local-engine.ts';
import { type RunningProcess, startTs } from '../helpers/process.ts';
import { spawnApp } from '../helpers/spawn-app.ts';
import { ALL_MIGRATIONS } from '../migrations/helpers.ts';
import { archivePathFrom, findTools } from './helpers.ts';

const node = (script: string, args: string[], env: Record<string, string>) =>
  startTs(script, args, { env: { LOG_LEVEL: 'silent', ...env } }).done;
const tools = findTools();

/**
 * The sequence that once lost the only good backup, run as a user runs it against the local
 * engine (database `microblog`, not a test database, so every backup rule applies), with the
 * tightest calendar retention: one daily, one weekly, one monthly.
 */
describe.skipIf('missing' in tools)(
  'backup, migrate down --to base, npm start: the data survives',
  { timeout: 300_000 },
  () => {
    let s: Awaited<ReturnType<typeof localEngineSetup>>;
    let env: Record<string, string>;
    let holder: RunningProcess;
    beforeAll(async () => {
      s = await localEngineSetup('retention');
      env = {
        ...s.env,
        BACKUP_DIR: join(s.dataDir, 'backups'),
        BACKUP_KEEP_DAILY: '1',
        BACKUP_KEEP_WEEKLY: '1',
        BACKUP_KEEP_MONTHLY: '1',
      };
      // The database in a terminal of its own (npm run db), as the README offers.
      holder = startTs('scripts/db.ts', [], { env: { LOG_LEVEL: 'silent', ...env } });
      await holder.waitFor(/Ctrl-C to stop/, 'stdout');
    });
    afterAll(async () => {
      holder.child.kill('SIGINT');
      await holder.done;
      await vi.waitFor(() => expect(s.processes()).toEqual([]), { timeout: 20_000 });
      await s.remove();
    });

    it('the 57-document archive is still there afterwards and restores', async () => {
      const uri = s.record()?.uri ?? '';
      const client = await MongoClient.connect(uri);
      try {
        const up = await node('scripts/migrate.ts', ['up'], env);
        expect(up.code, up.stderr).toBe(0);
        expect(up.stdout).toContain('backup before migrating: skipped, microblog holds no data');
        const db = client.db('microblog');
        const users = Array.from({ length: 7 }, (_, i) => ({
          _id: new ObjectId(),
          username: `writer${i}`,
          email: `writer${i}@example.com`,
          passwordHash: 'x',
          createdAt: new Date(),
          updatedAt: new Date(),
        }));
        await db.collection('users').insertMany(users);
        await db.collection('posts').insertMany(
          Array.from({ length: 50 }, (_, i) => ({
            body: `post ${i}`,
            author: users[i % 7]?._id,
            tags: [],
            createdAt: new Date(),
          })),
        );

        // 1. npm run backup: 57 documents of data.
        const backup = await node('scripts/backup.ts', [], env);
        expect(backup.code, backup.stderr).toBe(0);
        const good = archivePathFrom(backup.stdout);
        const manifest = JSON.parse(
          readFileSync(good.replace('.archive.gz', '.manifest.json'), 'utf8'),
        );
        const dataDocs = manifest.collections
          .filter((c: { name: string }) => ['users', 'posts'].includes(c.name))
          .reduce((sum: number, c: { documents: number }) => sum + c.documents, 0);
        expect(dataDocs).toBe(57);

        // 2. migrate down --to base: backs up first (its own, pre-migration archive), then drops.
        const down = await node('scripts/migrate.ts', ['down', '--to', 'base'], env);
        expect(down.code, down.stderr).toBe(0);
        const beforeDown = /backup before migrating: (\S+\.archive\.gz)/.exec(down.stdout)?.[1];
        expect(beforeDown).toBeDefined();
        expect(down.stdout).toContain(`rolled back ${ALL_MIGRATIONS.length} migrations`);
        expect(await db.collection('posts').countDocuments()).toBe(0);

        // 3. npm start in development: applies the migrations without backing up the empty database.
        const app = spawnApp({ ...env, NODE_ENV: 'development', MIGRATIONS_ON_START: 'apply' });
        await app.listening(120_000);
        app.child.kill('SIGTERM');
        expect((await app.exited).code).toBe(0);
        expect(app.logs.map((l) => l.msg)).toContain(
          'backup before migrating: skipped, microblog holds no data (only migration bookkeeping, if anything)',
        );

        // 4. Scheduled backups of the now empty database, the same day: they prune nothing.
        for (let i = 0; i < 3; i += 1) {
          const again = await node('scripts/backup.ts', [], env);
          expect(again.code, again.stderr).toBe(0);
          expect(again.stdout).toContain('nothing was pruned for this backup');
          expect(again.stdout).not.toMatch(/ backup: pruned /);
        }

        const kept = (await listBackups(env.BACKUP_DIR as string, 'microblog')).good.map(
          (b) => b.archivePath,
        );
        expect(kept).toEqual(expect.arrayContaining([good, beforeDown]));

        const restore = await node('scripts/restore.ts', [good, '--to', 'restored'], env);
        expect(restore.code, restore.stderr).toBe(0);
        const restored = client.db('restored');
        expect(await restored.collection('users').countDocuments()).toBe(7);
        expect(await restored.collection('posts').countDocuments()).toBe(50);
      } finally {
        await client.close();
      }
    });
  },
);
