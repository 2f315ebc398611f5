import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder (this file is src/process/project-root.ts), computed once. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A path from the configuration: absolute as given, relative to the project root otherwise. */
export function fromProjectRoot(path: string): string {
  return resolve(projectRoot, path);
}
