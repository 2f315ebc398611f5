import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/connection.ts';

/** A fresh database named test_<label>_<random> on the run's server, with indexes built. */
export function openTestDatabase(label: string): Promise<Database> {
  const dbName = `test_${label.replace(/[^A-Za-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  return connectDatabase(inject('mongoUri'), { dbName, autoIndex: true, monitorCommands: true });
}

/** Drops a test database; refuses any database whose name does not start with "test". */
export async function dropTestDatabase(db: Database): Promise<void> {
  const name = db.connection.name;
  if (!name.startsWith('test'))
    throw new Error(`refusing to drop database "${name}": not a test database`);
  await db.connection.dropDatabase();
  await db.close();
}

const HOUSEKEEPING = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'endSessions',
  'saslStart',
  'saslContinue',
  'buildInfo',
]);

/** Runs fn and returns the names of the database commands it sent (driver command monitoring). */
export async function recordCommands(db: Database, fn: () => Promise<unknown>): Promise<string[]> {
  const names: string[] = [];
  const client = db.connection.getClient();
  const listener = (event: { commandName: string; databaseName: string }) => {
    if (!HOUSEKEEPING.has(event.commandName) && event.databaseName === db.connection.name) {
      names.push(event.commandName);
    }
  };
  client.on('commandStarted', listener);
  try {
    await fn();
  } finally {
    client.off('commandStarted', listener);
  }
  return names;
}
