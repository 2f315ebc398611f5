import { MongoClient } from 'mongodb';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import { dropTestDb, testDbName } from '../helpers/db.ts';
import { localEngineSetup } from '../helpers/local-engine.ts';
import { runTs, startTs } from '../helpers/process.ts';

const SHELL = 'scripts/shell.ts';

describe('npm run shell, with piped input', () => {
  const dbName = testDbName('shell');
  const env = { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName };
  afterAll(async () => {
    const client = await MongoClient.connect(inject('mongoUri'));
    await dropTestDb(client, dbName).finally(() => client.close());
  });

  it('when a line throws, runs the lines after it, then exits 1 with one line on stderr', async () => {
    const result = await runTs(SHELL, [], {
      env,
      input: "await User.create({ username: 'x' })\n6 * 7\n",
      timeoutMs: 30_000,
    });

    expect(result.stdout).toContain("> await User.create({ username: 'x' })\nUncaught:\n");
    expect(result.stdout).toContain("_message: 'User validation failed'");
    expect(result.stdout).toContain('> 6 * 7\n42\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^\S+Z shell: 1 line\(s\) of the piped session failed \(exit 1\)\n$/,
    );
    expect(await runTs(SHELL, [], { env, input: 'await User.countDocuments()\n' })).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('> await User.countDocuments()\n0\n'),
    });
  });

  it('ends at .exit: the lines after it do not run, exit 0', async () => {
    const result = await runTs(SHELL, [], {
      env,
      input: '1 + 1\n.exit\n2 + 2\n',
      timeoutMs: 30_000,
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('> 1 + 1\n2\n> .exit\n');
    expect(result.stdout).not.toContain('2 + 2');
  });

  it('with NODE_ENV=production, says in the banner and the prompt that it writes to production', async () => {
    const result = await runTs(SHELL, [], {
      env: { ...env, NODE_ENV: 'production', JWT_SECRET: 'a'.repeat(40) },
      input: 'await Post.countDocuments()\n',
      timeoutMs: 30_000,
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`connected to the PRODUCTION database "${dbName}"`);
    expect(result.stdout).toContain(`PRODUCTION ${dbName}> await Post.countDocuments()\n0\n`);
  });
});

describe('npm run shell on the local engine', { timeout: 120_000 }, () => {
  let s: Awaited<ReturnType<typeof localEngineSetup>> | undefined;
  afterEach(async () => {
    for (const { pid } of s?.processes() ?? []) process.kill(pid, 'SIGKILL');
    await s?.remove();
  });

  it('joins the engine another command runs, and a SIGINT ends it (exit 130) holding nothing', async () => {
    s = await localEngineSetup('shell');
    const holder = startTs('scripts/db.ts', [], { env: s.env });
    await holder.waitFor(/Ctrl-C to stop/, 'stdout', 60_000);

    const joined = await runTs(SHELL, [], { env: s.env, input: 'await User.countDocuments()\n' });
    expect(joined.code).toBe(0);
    expect(joined.stdout).toContain(`on mongodb://127.0.0.1:${s.port}/`);
    expect(joined.stderr).not.toContain('started');

    const waiting = startTs(SHELL, [], { env: s.env, input: 'await new Promise(() => {})\n' });
    await waiting.waitFor(/> await new Promise/, 'stdout', 30_000);
    waiting.child.kill('SIGINT');
    const interrupted = await waiting.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain('shell: interrupted by SIGINT (exit 130)');

    // The holder is now the engine's only user: once it stops, so does the engine.
    holder.child.kill('SIGINT');
    await holder.done;
    await vi.waitFor(() => expect(s?.processes()).toEqual([]), { timeout: 20_000, interval: 200 });
  });
});
