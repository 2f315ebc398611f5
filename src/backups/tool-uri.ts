import { ConnectionString } from 'mongodb-connection-string-url';

// mongo-tools 100.x reads these URI options as seconds although they are milliseconds
// (common/db/db.go multiplies by time.Second), so 5000 ms becomes 83 minutes. The tools' own
// defaults (30 s selection, 3 s dial, no socket timeout) are kept instead; runBackup/runRestore
// reach the server with the driver first, which honours them, so an outage fails fast there.
const MISREAD_BY_TOOLS = ['serverSelectionTimeoutMS', 'connectTimeoutMS', 'socketTimeoutMS'];

/**
 * The connection string handed to mongodump/mongorestore: without a database path (the tools
 * refuse --db next to a different database in the URI; a path that named the authentication
 * database moves to authSource) and without the options the tools misread.
 */
export function toolConnectionString(uri: string): string {
  const cs = new ConnectionString(uri);
  const pathDb = decodeURIComponent(cs.pathname.replace(/^\//, ''));
  const params = cs.typedSearchParams<Record<string, unknown>>();
  if (pathDb && cs.username && !params.has('authSource')) params.set('authSource', pathDb);
  cs.pathname = '/';
  for (const name of MISREAD_BY_TOOLS) params.delete(name);
  return cs.toString();
}
