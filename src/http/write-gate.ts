import type { RequestHandler } from 'express';
import type { AppError } from '../shared/errors.ts';

/** What the app asks before a write and at /readyz; main wires it to the migration state. */
export interface SchemaGate {
  /** Why writes must wait (the database is behind the code), or undefined; answered from memory. */
  writesBlocked(): AppError | undefined;
  /** Counts a write let through until the returned function is called (its answer is sent). */
  writeStarted(): () => void;
  /** Why this instance is not ready, schema-wise, or undefined; may ask the database. */
  notReady(): Promise<AppError | undefined>;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Answers every write with the gate's 503 while the database is behind the code: a user written by
 * code that expects a newer schema (a key, a unique index) is what the next `up` trips over.
 * Reads keep working; logging in only reads the user, so it is let through. The writes let in
 * are counted until answered: a schema change waits for them (src/migrations/write-hold.ts).
 */
export function writeGate(gate: SchemaGate): RequestHandler {
  return (req, res, next) => {
    if (READS.has(req.method) || (req.method === 'POST' && req.path === '/tokens')) return next();
    const blocked = gate.writesBlocked();
    if (blocked) return next(blocked);
    res.once('close', gate.writeStarted());
    next();
  };
}
