import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/process/project-root.ts';
import { testDbName } from '../helpers/db.ts';
import { startProcess } from '../helpers/process.ts';
import { findTools, tempDir } from './helpers.ts';

const tools = findTools();
if ('missing' in tools) console.warn(`skipping the crontab tests: ${tools.missing}`);

const STAMP = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

/**
 * The command of each job in scripts/crontab.example (an /etc/cron.d file: five time fields and
 * a user before it), by the npm script it runs, with the example's paths made this machine's.
 */
function cronJobs(logDir: string): Record<string, string> {
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  const jobs: Record<string, string> = {};
  for (const line of readFileSync(`${projectRoot}/scripts/crontab.example`, 'utf8').split('\n')) {
    if (!/^[\d*]/.test(line)) continue;
    const command = line.split(/\s+/).slice(6).join(' ');
    const script = /npm run --silent (\S+)/.exec(command)?.[1] ?? '';
    jobs[script] = command
      .replaceAll('/srv/microblog', projectRoot)
      .replaceAll('/var/log/microblog', logDir)
      .replaceAll('/usr/bin/npm', npm);
  }
  return jobs;
}

/** Runs a job's command line as cron does (/bin/sh -c, a bare environment); cron mails its output. */
async function runAsCron(command: string, env: Record<string, string>) {
  const run = await startProcess('/bin/sh', ['-c', command], {
    env: { SHELL: '/bin/sh', ...env },
    timeoutMs: 60_000,
  }).done;
  return { mailed: run.stdout + run.stderr, code: run.code };
}

describe.skipIf('missing' in tools)('the crontab example, run as cron runs it', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let jobs: Record<string, string>;
  let env: Record<string, string>;
  const log = () => readFileSync(`${dir.path}/backup.log`, 'utf8');
  beforeEach(async () => {
    dir = await tempDir('cron');
    jobs = cronJobs(dir.path);
    env = {
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: testDbName('cron'),
      BACKUP_DIR: `${dir.path}/backups`,
    };
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('has the nightly backup, the test restore and the hourly status', () => {
    expect(Object.keys(jobs).sort()).toEqual(['backup', 'backup:status', 'backup:verify']);
  });

  it('a failed backup is mailed (its one line, with the time and exit code) and kept in the log', async () => {
    const { mailed } = await runAsCron(jobs.backup ?? '', {
      ...env,
      MONGODB_URI: 'mongodb://backup:s3cret@127.0.0.1:1/',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '500',
    });

    expect(mailed).toMatch(
      new RegExp(
        `^${STAMP} backup: cannot reach the database server at 127\\.0\\.0\\.1:1.* \\(exit 5\\)\\n$`,
      ),
    );
    expect(mailed).not.toContain('s3cret');
    expect(log()).toBe(mailed);
  });

  it('a good backup mails nothing and logs its lines, each with the time', async () => {
    const { mailed } = await runAsCron(jobs.backup ?? '', env);

    expect(mailed).toBe('');
    const lines = log().trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^${STAMP} backup: ${dir.path}/backups/\\S+\\.archive\\.gz$`),
    );
    for (const line of lines) expect(line).toMatch(new RegExp(`^${STAMP} backup: `));
  });

  it('the hourly status mails a missing backup and keeps the line in the log', async () => {
    const { mailed } = await runAsCron(jobs['backup:status'] ?? '', env);

    expect(mailed).toBe(log());
    expect(mailed).toMatch(
      new RegExp(`^${STAMP} backup:status: no good backup of \\S+ in .* \\(exit 16\\)\\n$`),
    );
  });
});
