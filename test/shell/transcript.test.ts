import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fromProjectRoot } from '../../src/process/project-root.ts';
import { dropTestDb, testDbName } from '../helpers/db.ts';
import { runTs } from '../helpers/process.ts';

const PAGE = 'docs/play-time.md';

/** The page's shell sessions, in order: the code blocks marked `js shell-session`. */
function sessionBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```js shell-session\n([\s\S]*?)\n```$/gm)].map((m) => m[1] ?? '');
}

/** What was typed: the lines after a prompt (`> `) or a continuation prompt (`| `). */
function typedLines(transcript: string): string[] {
  return transcript
    .split('\n')
    .filter((line) => line.startsWith('> ') || line.startsWith('| '))
    .map((line) => line.slice(2));
}

/** Ids become id1, id2, ... in the order they first appear (so repeats must agree); times <time>. */
function normalised(text: string): string {
  const ids = new Map<string, string>();
  return text
    .replace(/\b[0-9a-f]{24}\b/g, (hex) => {
      if (!ids.has(hex)) ids.set(hex, `id${ids.size + 1}`);
      return ids.get(hex) as string;
    })
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\b/g, '<time>');
}

describe(`${PAGE}, typed into npm run shell`, () => {
  const dbName = testDbName('play_time_shell');
  afterAll(async () => {
    const client = await MongoClient.connect(inject('mongoUri'));
    await dropTestDb(client, dbName).finally(() => client.close());
  });

  it('prints what the page shows, line for line (ids and times aside), and exits 0', async () => {
    const transcript = sessionBlocks(readFileSync(fromProjectRoot(PAGE), 'utf8')).join('\n');
    const typed = typedLines(transcript);
    expect(typed.length).toBeGreaterThan(20);

    const result = await runTs('scripts/shell.ts', [], {
      env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName },
      input: `${typed.join('\n')}\n`,
      timeoutMs: 60_000,
    });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const session = result.stdout.slice(result.stdout.indexOf('\n> ') + 1);
    // The page's sessions, then the prompt that the end of the input closed.
    expect(normalised(session)).toBe(normalised(`${transcript}\n> \n`));
  });
});
