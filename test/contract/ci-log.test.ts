import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/process/project-root.ts';
import { type ProcessResult, startProcess } from '../helpers/process.ts';

// CI's log is read for a test runner's closing line. schemathesis closes its report on a
// pytest-style line ("=== 1 warning in 72.15s ===") that such a reader takes for a pytest run of
// no tests, so the contract run keeps its report in a file and prints one plain line of its own;
// and nothing follows the suite's "tests: N passed, N failed, N skipped" line. The two reports
// under fixtures/ were recorded from real runs (the failing one with a check switched on that
// the API is known to fail).
const PYTEST_CLOSING = /^=+ .* in [0-9.]+s =+$/m;
const fixture = (name: string) => join(projectRoot, 'test/contract/fixtures', name);

function summarise(report: string, status: number): Promise<ProcessResult> {
  return startProcess('bash', ['scripts/contract/summary.sh', report, '42', String(status)], {
    env: {},
    timeoutMs: 10_000,
  }).done;
}

describe('the contract run summary (scripts/contract/summary.sh)', () => {
  it('on a passing report, prints one plain line with the case count and nothing of the report', async () => {
    expect(readFileSync(fixture('schemathesis-pass.txt'), 'utf8')).toMatch(PYTEST_CLOSING);
    const result = await summarise(fixture('schemathesis-pass.txt'), 0);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('contract: 1163 cases, 0 failures, seed 42\n');
    expect(result.stderr).toBe('');
  });

  it('on a failing report, prints the whole report to stderr, then the counts, and exits 1', async () => {
    const report = readFileSync(fixture('schemathesis-fail.txt'), 'utf8');
    const result = await summarise(fixture('schemathesis-fail.txt'), 1);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(report.trim());
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      'contract: 888 cases, 9 failures, seed 42 (exit 1; repeat with CONTRACT_SEED=42)',
    );
  });

  it('fails when schemathesis exits 0 but its report counts failures or counts nothing', async () => {
    const withFailures = await summarise(fixture('schemathesis-fail.txt'), 0);
    expect(withFailures.code).toBe(1);
    const missing = await summarise(fixture('no-such-report.txt'), 0);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/has no clean test-case count/);
  });

  it('on a crash before any case ran, says so with the exit code', async () => {
    const result = await summarise(fixture('no-such-report.txt'), 2);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      'contract: schemathesis exited 2 before counting test cases, seed 42 (report above)',
    );
  });
});

describe('.ci/run', () => {
  const commands = readFileSync(join(projectRoot, '.ci/run'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  const contract = readFileSync(join(projectRoot, 'scripts/contract/run.sh'), 'utf8');

  it('ends on the README test command, so the suite summary is the last line printed', () => {
    expect(commands.at(-1)).toBe('npm run check');
  });

  it('sends schemathesis output to the report file, and only the summary step prints it', () => {
    expect(contract).toMatch(/"\$venv\/bin\/st"[\s\S]*?>"\$report" 2>&1 \|\| status=\$\?/);
    expect(contract.trim().split('\n').at(-1)).toBe(
      'bash "$here/summary.sh" "$report" "$seed" "$status"',
    );
  });

  it('keeps the summary reporter last among vitest reporters', async () => {
    const { default: config } = await import('../../vitest.config.ts');
    expect(config.test?.reporters).toEqual(['default', './test/setup/summary-reporter.ts']);
  });
});
