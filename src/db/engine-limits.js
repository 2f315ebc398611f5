// The limits of the engines this app runs on, in one place for the app (src/db/capabilities.ts)
// and for the migration kit. Plain JavaScript (type-checked by tsc through JSDoc) because the
// plain `npx migrate-mongo` CLI require()s the kit, and require() cannot load TypeScript.

/**
 * Most statements one write command may carry on FerretDB v1.24 (SQLite). It keeps each update
 * statement's query open until the whole command ends, and a database has 100 SQLite
 * connections: statements + cursors open on that database + 1 must stay under 100, or the
 * command never answers and its connections are never given back (docs/benchmarks.md has what
 * was measured; see FerretDB's internal/handler/msg_update.go).
 * So 25, leaving room for cursors and concurrent commands. FerretDB still advertises
 * maxWriteBatchSize 100000; MongoDB splits large bulk writes itself.
 */
export const FERRETDB_MAX_WRITE_STATEMENTS = 25;

/**
 * FerretDB's version when `buildInfo` comes from FerretDB, else undefined (MongoDB).
 * @param {{ ferretdbVersion?: unknown }} buildInfo
 * @returns {string | undefined}
 */
export function ferretdbVersionOf(buildInfo) {
  return typeof buildInfo.ferretdbVersion === 'string' ? buildInfo.ferretdbVersion : undefined;
}

/**
 * Most statements to put in one write command on the server that answered `buildInfo` and
 * `hello` (hello may be left out: MongoDB then splits large bulk writes on its own).
 * @param {{ ferretdbVersion?: unknown }} buildInfo
 * @param {{ maxWriteBatchSize?: unknown }} [hello]
 * @returns {number}
 */
export function maxWriteStatementsOf(buildInfo, hello) {
  if (ferretdbVersionOf(buildInfo)) return FERRETDB_MAX_WRITE_STATEMENTS;
  return hello?.maxWriteBatchSize != null
    ? Number(hello.maxWriteBatchSize)
    : Number.MAX_SAFE_INTEGER;
}

/** @type {WeakMap<object, Promise<number>>} */
const probed = new WeakMap();

/**
 * Asks the server of `db` once (per Db object) how many statements one write command may carry.
 * @param {import('mongodb').Db} db
 * @returns {Promise<number>}
 */
export function writeStatementLimit(db) {
  let limit = probed.get(db);
  if (!limit) {
    limit = db.command({ buildInfo: 1 }).then((info) => maxWriteStatementsOf(info));
    probed.set(db, limit);
  }
  return limit;
}
