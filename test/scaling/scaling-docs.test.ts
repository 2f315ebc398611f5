import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/process/project-root.ts';
import { docRows, mongoshLine, shardSteps } from '../../src/scaling/shard-plan.ts';

// docs/scaling.md shows the shard plan; src/scaling/shard-plan.ts is the plan. They stay equal.
const doc = readFileSync(resolve(projectRoot, 'docs/scaling.md'), 'utf8').split('\n');

/** The rows of the table whose header line is `header`. */
function tableRows(header: string): string[] {
  const start = doc.indexOf(header);
  expect(start, `docs/scaling.md has no table headed ${header}`).toBeGreaterThanOrEqual(0);
  const rows: string[] = [];
  for (const line of doc.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

describe('docs/scaling.md', () => {
  it('shows the shard key of every collection of the plan, and no other', () => {
    expect(tableRows('| collection | shard key | why |')).toEqual(docRows().collections);
  });

  it('shows how every unique constraint survives', () => {
    expect(tableRows('| collection | unique index | how it survives |')).toEqual(docRows().unique);
  });

  it("lists every command of the plan's query table with its routing", () => {
    expect(
      tableRows('| endpoint | collection | command | routing | why it may fan out, and its cost |'),
    ).toEqual(docRows().queries);
  });

  it('shows what npm run shard -- --plan prints for the database microblog', () => {
    const start = doc.indexOf('$ MONGODB_DB=microblog npm run shard -- --plan');
    const shown = doc.slice(start + 2, doc.indexOf('```', start));
    expect(shown).toEqual(shardSteps('microblog').map(mongoshLine));
  });
});
