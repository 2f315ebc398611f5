import type { TestProject } from 'vitest/node';
import { type EmbeddedEngine, startEmbeddedEngine } from '../../src/db/embedded-engine.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

let engine: EmbeddedEngine | undefined;

/**
 * One real server for the whole run: MONGODB_URI when set, else the embedded engine (a local
 * mongod, or FerretDB from .tools/bin). Each test file then works in its own test_* database.
 */
export async function setup(project: TestProject): Promise<void> {
  let uri = process.env.MONGODB_URI;
  if (uri) {
    console.log('tests use MONGODB_URI (databases named test_*)');
  } else {
    const kind = (process.env.EMBEDDED_ENGINE ?? 'auto') as 'auto' | 'mongod' | 'ferretdb';
    engine = await startEmbeddedEngine({
      engine: kind,
      log: (m) => console.log(`test engine: ${m}`),
    });
    uri = engine.uri;
  }
  project.provide('mongoUri', uri);
}

export async function teardown(): Promise<void> {
  await engine?.stop();
}
