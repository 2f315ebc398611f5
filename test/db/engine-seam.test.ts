import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/process/project-root.ts';

// A feature folder reads as plain Mongoose: what differs between engines lives beneath the
// models, in src/db. `npm run deps` refuses a feature's import of the engine modules
// (.dependency-cruiser.cjs, features-read-as-plain-mongoose); this test refuses the reads that
// need no import: the connection's engine facts.
const rules = readFileSync(join(projectRoot, '.dependency-cruiser.cjs'), 'utf8');
const features = JSON.parse(
  (rules.match(/const FEATURES = (\[[^\]]*\])/)?.[1] ?? '[]').replaceAll("'", '"'),
) as string[];

describe('the engine seam', () => {
  it('lists the feature folders', () => {
    expect(features).toEqual(expect.arrayContaining(['users', 'posts', 'tags', 'accounts']));
  });

  it.each(features)('src/%s reads no engine fact (db.capabilities, db.turns)', (feature) => {
    const folder = join(projectRoot, 'src', feature);
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.ts'))) {
      const text = readFileSync(join(folder, file), 'utf8');
      expect(text, `src/${feature}/${file}`).not.toMatch(/\.capabilities\b|\.turns\b|ferretdb/i);
    }
  });
});
