import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_NODE_FLAGS } from '../../src/process/node-flags.ts';
import { projectRoot } from '../../src/process/project-root.ts';

/**
 * Every way this project tells you to start the API passes the same node flags
 * (src/process/node-flags.ts): a command that drifts would start the app with V8's defaults,
 * which under Node 24 let the young generation take about 100 MB more (docs/benchmarks.md).
 */
const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');
const flags = API_NODE_FLAGS.join(' ');

describe('the API start command', () => {
  it('npm start runs node with the API flags', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${flags} src/main.ts`);
  });

  it("the Dockerfile's app CMD runs node with the API flags", () => {
    const app = read('Dockerfile').split(/^FROM .* AS app$/m)[1] ?? '';
    const cmds = [...app.matchAll(/^CMD (\[.*\])$/gm)].map((m) => JSON.parse(m[1] as string));
    expect(cmds).toEqual([['node', ...API_NODE_FLAGS, 'src/main.ts']]);
  });

  it.each(['README.md', 'docs/setup.md', 'docs/operations.md'])(
    'every production start of the API in %s carries the flags',
    (file) => {
      const text = read(file);
      // The unit's ExecStart, the container's CMD and the production command block.
      const starts = [
        ...[...text.matchAll(/ExecStart=\/usr\/bin\/node ([^`\n]*)src\/main\.ts/g)].map(
          (m) => m[1],
        ),
        ...[...text.matchAll(/CMD \["node", (.*?)"src\/main\.ts"\]/g)].map((m) =>
          (JSON.parse(`[${m[1]}""]`) as string[]).filter(Boolean).join(' ').concat(' '),
        ),
        ...[...text.matchAll(/NODE_ENV=production node ([^\n]*?)src\/main\.ts/g)].map((m) => m[1]),
      ];
      expect(starts.length).toBeGreaterThan(0);
      for (const start of starts) expect(start).toBe(`${flags} `);
    },
  );

  it('the flags bound the young generation (V8 reads them at start-up only)', () => {
    // Short-lived garbage under the flags: new space stays within two 16 MB semi-spaces (and a
    // page or two of slack); without them Node 24 grows it to 128 MB on the reference machine.
    const probe = `
      const v8 = require('node:v8');
      let max = 0, keep = [];
      for (let i = 0; i < 1500; i++) {
        const a = []; for (let j = 0; j < 2000; j++) a.push({ j, s: 'x' + j });
        keep.push(a); if (keep.length > 40) keep.shift();
        if (i % 25 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
      console.log(max);`;
    const newSpace = (nodeFlags: readonly string[]) =>
      Number(execFileSync(process.execPath, [...nodeFlags, '-e', probe], { encoding: 'utf8' }));
    expect(newSpace(API_NODE_FLAGS)).toBeLessThanOrEqual(34 * 1024 * 1024);
  });
});
