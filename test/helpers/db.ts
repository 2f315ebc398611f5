import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import type { ConnectOptions, Database } from '../../src/db/connection.ts';
import { connectDatabase } from '../../src/models.ts';

const TEST_PREFIX = 'test_';

/** A fresh database name, test_<label>_<random>: the prefix is what lets the helpers drop it. */
export function testDbName(label: string): string {
  return `${TEST_PREFIX}${label.replace(/[^A-Za-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
}

/** The one guard every drop goes through: only a database named test_* may be dropped. */
export function assertTestDbName(name: string): void {
  if (!name.startsWith(TEST_PREFIX))
    throw new Error(`refusing to drop database "${name}": not a test database`);
}

/**
 * A fresh database named by testDbName on the run's server (or `uri`), with indexes built.
 * `dbName` reopens a database another connection made (it must be a test database's name).
 */
export function openTestDatabase(
  label: string,
  options: Partial<ConnectOptions> & { uri?: string } = {},
): Promise<Database> {
  const { uri = inject('mongoUri'), ...connect } = options;
  const dbName = connect.dbName ?? testDbName(label);
  assertTestDbName(dbName);
  return connectDatabase(uri, { autoIndex: true, monitorCommands: true, ...connect, dbName });
}

/** Drops a test database (see assertTestDbName) and closes its connection. */
export async function dropTestDatabase(db: Database): Promise<void> {
  assertTestDbName(db.connection.name);
  await db.connection.dropDatabase();
  await db.close();
}

/** dropTestDatabase for a database reached through the driver: drops it by name. */
export async function dropTestDb(client: MongoClient, name: string): Promise<void> {
  assertTestDbName(name);
  await client.db(name).dropDatabase();
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
