import type { Database } from '../../src/db/connection.ts';
import { type EmbeddedEngine, startEmbeddedEngine } from '../../src/db/embedded-engine.ts';
import { dropTestDatabase, openTestDatabase } from './db.ts';
import { type SpawnedApp, spawnApp } from './spawn-app.ts';

const kind = (process.env.EMBEDDED_ENGINE ?? 'auto') as 'auto' | 'mongod' | 'ferretdb';

/**
 * An engine of the test file's own (one it may pause or flood without touching the run's shared
 * engine), a test database on it, and the app on that database as in production, in its own
 * process. `stop` ends all three.
 */
export async function productionAppOnOwnEngine(label: string, env: Record<string, string>) {
  const engine: EmbeddedEngine = await startEmbeddedEngine({ engine: kind });
  const db: Database = await openTestDatabase(label, { uri: engine.uri });
  let app: SpawnedApp | undefined;
  const start = async () => {
    app = spawnApp({
      NODE_ENV: 'production',
      JWT_SECRET: 'a'.repeat(40),
      MONGODB_URI: engine.uri,
      MONGODB_DB: db.connection.name,
      ...env,
    });
    return { app, port: await app.listening(60_000) };
  };
  const stop = async () => {
    if (engine.pid) process.kill(engine.pid, 'SIGCONT');
    if (app && app.child.exitCode === null) app.child.kill('SIGKILL');
    await dropTestDatabase(db).catch(() => db.close());
    await engine.stop();
  };
  return { engine, db, start, stop };
}
