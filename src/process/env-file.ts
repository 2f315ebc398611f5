import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './project-root.ts';

/**
 * Loads the project's .env (the one beside package.json, whatever the working folder) into
 * process.env; variables already set in the environment win. The app, every script and the
 * plain migrate-mongo CLI call this, so a setting means the same thing to all of them. Processes
 * started with NODE_ENV=test (the test suite's children) read none: a developer's .env must not
 * leak into a test.
 */
export function loadDotEnv(): void {
  if (process.env.NODE_ENV === 'test') return;
  const path = join(projectRoot, '.env');
  if (existsSync(path)) process.loadEnvFile(path);
}
