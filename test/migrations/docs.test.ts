import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/migrations/runner.ts';
import { ALL_MIGRATIONS } from './helpers.ts';

const guide = readFileSync(join(projectRoot, 'docs/migrations.md'), 'utf8');

/** The rows of the first table after a heading. */
function tableAfter(heading: string): string[][] {
  const section = guide.slice(guide.indexOf(`\n${heading}\n`));
  const table: string[][] = [];
  let started = false;
  for (const line of section.split('\n').slice(1)) {
    if (line.startsWith('|')) started = true;
    else if (started) break;
    if (started)
      table.push(
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
  }
  return table.slice(2); // header and separator
}

describe('docs/migrations.md', () => {
  it('the history table lists exactly the files in migrations/, in order', () => {
    const files = tableAfter('## The history').map((row) => row[0]?.replace(/`/g, ''));

    expect(files).toEqual(ALL_MIGRATIONS.map((name) => name.replace(/\.js$/, '')));
  });
});
