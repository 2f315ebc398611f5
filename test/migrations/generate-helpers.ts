import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from 'mongoose';
import ts from 'typescript';
import { checkModelDrift } from '../../src/migrations/generate.ts';
import { projectRoot, readMigrationStatus } from '../../src/migrations/runner.ts';
import type { MigrationTestDb } from './helpers.ts';

/**
 * A scratch migrations folder inside the repository (under the ignored .data/), so that the
 * generated file's relative import of the kit and its JSDoc types resolve as they do in migrations/.
 */
export function scratchMigrationsDir(label: string) {
  const dir = join(projectRoot, '.data', `generate-${label}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    files: () =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.js'))
        .sort(),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** tsc's errors for one file under the repository's tsconfig (strict, checkJs). */
export function typeErrors(file: string): string[] {
  const configPath = join(projectRoot, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, projectRoot);
  const program = ts.createProgram([file], parsed.options);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    );
}

/**
 * What `npm run migrate -- check` fails on, for these models and this folder: the model drift it
 * prints, then the pending migrations. Empty: check passes.
 */
export async function checkFailures(
  t: MigrationTestDb,
  models: Model<unknown>[],
  dir: string,
): Promise<string[]> {
  const lines: string[] = [];
  const drift = checkModelDrift((line) => lines.push(line), models, dir);
  const { pending } = await readMigrationStatus(t.db, dir);
  return [...lines, ...(drift ? [drift.message] : []), ...pending.map((p) => `pending: ${p}`)];
}
