import { type DatabaseConnection, openConnection } from '../db/connection.ts';
import { describeServer, redactSecrets } from '../shared/connection-string.ts';
import { BackupError } from './errors.ts';

/**
 * Connects with the driver before any tool runs: an outage or a bad password fails here within
 * the configured selection timeout, with a message that never carries the password.
 */
export async function openServer(
  uri: string,
  dbName: string,
  serverSelectionTimeoutMS = 5000,
): Promise<DatabaseConnection> {
  try {
    return await openConnection(uri, { dbName, serverSelectionTimeoutMS, poolSize: 4 });
  } catch (error) {
    const reason = redactSecrets((error as Error).message.split('\n')[0] ?? '', uri);
    throw new BackupError(
      'unreachable',
      `cannot reach the database server at ${describeServer(uri)}: ${reason}`,
    );
  }
}
