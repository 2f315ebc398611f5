import { tmpdir } from 'node:os';
import { describe, expect, inject, it } from 'vitest';
import { startTs, unstamped } from '../helpers/process.ts';

// npm run shard: --plan prints the commands that apply src/scaling/shard-plan.ts; --apply runs
// them only on a mongos. No sharded cluster runs here: the refusal is what can be tested.
function shard(args: string[], env: Record<string, string>) {
  return startTs('scripts/shard.ts', args, { env, cwd: tmpdir(), timeoutMs: 60_000 }).done.then(
    (run) => ({ ...run, stderr: unstamped(run.stderr) }),
  );
}

describe('npm run shard', () => {
  it('--plan prints, for the configured database, the commands mongosh runs to shard it', async () => {
    const run = await shard(['--plan'], { MONGODB_DB: 'blog' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      '// the shard plan for database blog; docs/scaling.md says why',
      'db.adminCommand({"enableSharding":"blog"})',
      'db.getSiblingDB("blog").runCommand({"createIndexes":"posts","indexes":[{"key":{"author":"hashed","_id":1},"name":"author_hashed__id_1"}]})',
      'db.adminCommand({"shardCollection":"blog.posts","key":{"author":"hashed","_id":1}})',
      'db.adminCommand({"shardCollection":"blog.follows","key":{"follower":1,"followee":1},"unique":true})',
    ]);
  });

  it('--apply refuses a server that is not a mongos, with one line, and changes nothing', async () => {
    const uri = inject('mongoUri');
    const run = await shard(['--apply'], { MONGODB_URI: uri, MONGODB_DB: 'test_shard_refused' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^shard: 127\.0\.0\.1:\d+ is not a mongos \(its hello has no msg: 'isdbgrid'\): point MONGODB_URI at the cluster's router; nothing was changed \(exit 1\)\n$/,
    );
  });

  it('--apply without MONGODB_URI refuses instead of starting the local engine', async () => {
    const run = await shard(['--apply'], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "shard: MONGODB_URI is unset: --apply runs on a sharded cluster's mongos, never on the local engine (exit 1)\n",
    );
  });

  it('without --plan or --apply, exits 2 with the usage', async () => {
    for (const args of [[], ['--plna'], ['--plan', '--apply']]) {
      const run = await shard(args, {});
      expect(run.code).toBe(2);
      expect(run.stderr).toBe('shard: usage: npm run shard -- --plan | --apply (exit 2)\n');
    }
  });
});
