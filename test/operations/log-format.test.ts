import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { createProcessLogger, type LogFormat } from '../../src/logger.ts';
import { testDbName } from '../helpers/db.ts';
import { startProcess } from '../helpers/process.ts';
import { spawnApp } from '../helpers/spawn-app.ts';

// An escape sequence of a terminal colour (pino-pretty colours the level).
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`);

/** The text a logger of this format writes to an output that is (or is not) a terminal. */
async function logged(format: LogFormat, isTTY: boolean): Promise<string> {
  const output = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const logger = await createProcessLogger('info', format, output);
  logger.info({ user: { password: 'hunter2-secret' } }, 'user signed up');
  await new Promise((resolve) => setImmediate(resolve));
  return text;
}

describe('LOG_FORMAT', () => {
  it('auto, on a terminal: one pretty, coloured line per entry, secrets still redacted', async () => {
    const text = await logged('auto', true);

    expect(text).toMatch(COLOUR);
    expect(text).toContain('INFO');
    expect(text).toContain('user signed up');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('hunter2-secret');
    expect(() => JSON.parse(text.split('\n')[0] ?? '')).toThrow();
  });

  it('auto, not a terminal (a pipe, a log collector): JSON lines', async () => {
    const line = JSON.parse((await logged('auto', false)).trim());

    expect(line).toMatchObject({ level: 30, msg: 'user signed up' });
    expect(line.user.password).toBe('[redacted]');
  });

  it('json on a terminal: JSON lines all the same', async () => {
    const text = await logged('json', true);

    expect(JSON.parse(text.trim())).toMatchObject({ msg: 'user signed up' });
    expect(text).not.toMatch(COLOUR);
  });

  it('pretty through a pipe: pretty lines without colour codes', async () => {
    const text = await logged('pretty', false);

    expect(text).toMatch(/INFO.*user signed up/);
    expect(text).not.toMatch(COLOUR);
  });

  it('the app started with LOG_FORMAT=pretty writes readable lines, not JSON', async () => {
    const app = spawnApp({
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: testDbName('log_format'),
      LOG_FORMAT: 'pretty',
    });
    try {
      await app.process.waitFor(/INFO.*listening on http:\/\/127\.0\.0\.1:\d+/, 'stdout', 60_000);
      expect(app.stdout()).not.toMatch(/^\{"level"/m);
    } finally {
      app.child.kill('SIGTERM');
      await app.exited;
    }
  });

  // `script` gives the app a pseudo-terminal as stdout, as a developer's terminal does.
  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!hasScript)(
    'the app started in a terminal (LOG_FORMAT unset) writes coloured lines',
    async () => {
      const run = startProcess(
        'script',
        ['-qefc', `${process.execPath} src/main.ts`, '/dev/null'],
        {
          env: {
            MONGODB_URI: inject('mongoUri'),
            MONGODB_DB: testDbName('log_tty'),
            HOST: '127.0.0.1',
            PORT: '0',
            MIGRATIONS_ON_START: 'warn',
            LOG_LEVEL: 'info',
          },
          timeoutMs: 120_000,
        },
      );
      try {
        await run.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 'stdout', 60_000);
        expect(run.stdout()).toMatch(COLOUR);
        expect(run.stdout()).not.toMatch(/\{"level":/);
      } finally {
        run.child.kill('SIGTERM');
        await run.done;
      }
    },
  );
});
