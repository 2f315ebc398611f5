import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeProfile } from '../../scripts/bench/profile.ts';

// docs/benchmarks.md splits Mongoose's CPU by what it does (casting, populate, hooks...) with
// `--mongoose-parts`: each sample must land in the part its innermost Mongoose frame belongs to.
const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const M = 'file:///app/node_modules/mongoose/lib/';
const frames: [string, string][] = [
  ['(root)', ''],
  ['findPostPage', 'file:///app/src/posts/queries.ts'],
  ['_find', `${M}query.js`],
  ['_assign', `${M}model.js`],
  ['assignVals', `${M}helpers/populate/assignVals.js`],
  ['getModelsMapForPopulate', `${M}helpers/populate/getModelsMapForPopulate.js`],
  ['sanitizeFilter', `${M}helpers/query/sanitizeFilter.js`],
  ['cast', `${M}cast.js`],
  ['execPre', 'file:///app/node_modules/kareem/index.js'],
  ['toArray', 'file:///app/node_modules/mongodb/lib/cursor/abstract_cursor.js'],
];

/** A profile whose node i+1 is frames[i]; every node but the root is a child of findPostPage. */
function profile(samples: number[]): string {
  const nodes = frames.map(([functionName, url], i) => ({
    id: i + 1,
    callFrame: { functionName, url },
    children: i === 0 ? [2] : i === 1 ? frames.slice(2).map((_, j) => j + 3) : [],
  }));
  const file = join(dir, `${samples.join('-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify({ nodes, samples, timeDeltas: samples.map(() => 100) }));
  return file;
}

describe('bench profiles: Mongoose by part', () => {
  it("puts each sample in its Mongoose part, scaled to the run's CPU per read", () => {
    // One sample each in _find, _assign, assignVals, getModelsMap, sanitizeFilter, cast,
    // execPre and the driver; two in findPostPage's own code.
    const file = profile([3, 4, 5, 6, 7, 8, 9, 10, 2, 2]);
    const parts = Object.fromEntries(
      summarizeProfile(file, 1000, 20, { mongooseParts: true }).map((c) => [c.category, c.micros]),
    );
    expect(parts).toEqual({
      'Mongoose: building and running queries': 100,
      'Mongoose: populate, assigning the results': 200,
      'Mongoose: populate, planning': 100,
      'Mongoose: sanitizeFilter': 100,
      'Mongoose: casting (strictQuery)': 100,
      'Mongoose: hooks': 100,
      'MongoDB driver and BSON': 100,
      'app: src/posts': 200,
    });
  });

  it('without the option, Mongoose is one line', () => {
    const file = profile([3, 4, 7, 10]);
    const parts = summarizeProfile(file, 400).map((c) => [c.category, c.micros]);
    expect(parts).toEqual([
      ['Mongoose', 300],
      ['MongoDB driver and BSON', 100],
    ]);
  });
});
