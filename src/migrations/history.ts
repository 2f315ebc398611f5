import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../process/script-error.ts';
import { migrationFiles } from './generate.ts';
import { MIGRATIONS_DIR } from './settings.ts';

/** The first sentence of a migration's leading comment: what `history` shows for it. */
export function migrationSummary(fileName: string, dir = MIGRATIONS_DIR): string {
  const lines = readFileSync(join(dir, fileName), 'utf8').split('\n');
  const comment: string[] = [];
  for (const line of lines) {
    const match = /^\s*\/\/\s?(.*)$/.exec(line);
    if (!match) break;
    comment.push(match[1] ?? '');
  }
  const text = comment.join(' ').replace(/\s+/g, ' ').trim();
  const sentence = /^(.+?\.)(\s|$)/.exec(text)?.[1] ?? text;
  return sentence || '(no leading comment)';
}

/** history: every migration file, oldest first, the newest marked (head); no database needed. */
export function historyCommand(args: string[], out: (line: string) => void): number {
  if (args.length > 0) throw new UsageError(`history takes no arguments, not ${args[0]}`);
  const files = migrationFiles();
  files.forEach((fileName, i) => {
    const head = i === files.length - 1 ? ' (head)' : '';
    out(`${fileName}${head}  ${migrationSummary(fileName)}`);
  });
  return 0;
}
