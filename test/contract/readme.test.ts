import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusByCode } from '../../src/http/error-handler.ts';
import { useTestApp } from '../helpers/app.ts';

const root = join(import.meta.dirname, '../..');
// The API's rules, tables and error codes live in docs/api.md (the README links there).
const readme = readFileSync(join(root, 'docs/api.md'), 'utf8');

/** The rows of the first Markdown table after a line matching `heading`. */
function tableAfter(heading: RegExp): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => heading.test(line));
  expect(start, String(heading)).toBeGreaterThanOrEqual(0);
  const table = lines.slice(start).findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + table)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const t = useTestApp('contract_readme');

describe("docs/api.md's error table", () => {
  it('lists exactly the codes of the error handler, each under its status', () => {
    const documented: Record<string, number> = {};
    for (const [status, codes] of tableAfter(/^\*\*Errors\*\*/)) {
      // Only the backticked words at the start of each entry are codes; the rest is explanation.
      for (const [, code] of (codes ?? '').matchAll(/(?:^|, )`([a-z-]+)`/g)) {
        documented[code as string] = Number(status);
      }
    }
    expect(documented).toEqual(statusByCode);
  });

  it('lists no code the API never sends: each one is raised somewhere in src/', () => {
    const sources = sourceFiles(join(root, 'src'))
      .filter((file) => !file.endsWith('shared/errors.ts'))
      .map((file) => readFileSync(file, 'utf8'))
      // The table of statuses names every code without sending any.
      .map((text) => text.replace(/statusByCode: Record<ErrorCode, number> = \{[^}]*\}/, ''))
      .join('\n');
    const unsent = Object.keys(statusByCode).filter(
      (code) =>
        !new RegExp(`new AppError\\(\\s*'${code}'`).test(sources) &&
        !new RegExp(`code: '${code}'|'${code}',\\n`).test(sources),
    );
    expect(unsent).toEqual([]);
  });
});

describe("docs/api.md's API table", () => {
  it('has one row per operation of the OpenAPI document, and no other', () => {
    const document = t.app.locals.openApiDocument as { paths: Record<string, object> };
    const operations = Object.entries(document.paths)
      .flatMap(([path, methods]) =>
        Object.keys(methods).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        ),
      )
      .sort();
    const rows = tableAfter(/^\| method and path \|/).map(
      ([cell]) => /^`([A-Z]+ [^`?]+)/.exec(cell ?? '')?.[1] ?? `unreadable: ${cell}`,
    );
    expect(rows.sort()).toEqual(operations);
  });
});
