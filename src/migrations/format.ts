import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from './settings.ts';

/**
 * Formats generated text the way `biome check` wants it, so that a generated migration and the
 * model state pass the linter unedited. Without biome (an install without dev dependencies) the
 * text is returned as it is: valid, only laid out differently.
 */
export function formatLikeTheRepository(text: string, file: string): string {
  const biome = join(projectRoot, 'node_modules/.bin/biome');
  if (!existsSync(biome)) return text;
  const result = spawnSync(biome, ['format', `--stdin-file-path=${relative(projectRoot, file)}`], {
    cwd: projectRoot,
    input: text,
    encoding: 'utf8',
  });
  return result.status === 0 && result.stdout ? result.stdout : text;
}
