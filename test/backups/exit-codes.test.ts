import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKUP_EXIT_CODES } from '../../src/backups/errors.ts';
import { projectRoot } from '../../src/process/project-root.ts';

/** `{ exit: code }` from the first table after `heading` whose header is `| exit | code | ...`. */
function exitCodeTable(file: string, heading: RegExp): Record<number, string> {
  const lines = readFileSync(join(projectRoot, file), 'utf8').split('\n');
  const start = lines.findIndex((line) => heading.test(line));
  expect(start, `${heading} in ${file}`).toBeGreaterThanOrEqual(0);
  const header = lines.findIndex((line, i) => i > start && /^\| exit \| code \|/.test(line));
  const table: Record<number, string> = {};
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [exit, code] = line
      .split('|')
      .slice(1, 3)
      .map((cell) => cell.trim());
    table[Number(exit)] = (code ?? '').replaceAll('`', '');
  }
  return table;
}

const inCode = Object.fromEntries([
  [0, ''],
  ...Object.entries(BACKUP_EXIT_CODES).map(([code, exit]) => [exit, code]),
]);

describe('the exit codes of the backup commands', () => {
  it("docs/backups.md's table lists exactly the same", () => {
    expect(exitCodeTable('docs/backups.md', /^## Exit codes/)).toEqual(inCode);
  });
});
