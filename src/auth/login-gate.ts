import type { ErrorRequestHandler } from 'express';
import type { Database } from '../db/connection.ts';
import type { SchemaGate } from '../http/write-gate.ts';
import { AppError } from '../shared/errors.ts';
import { type Credentials, findLoginAccount } from './service.ts';

/**
 * While the schema is being changed or is behind the code, an account that is not found may be
 * one the migration has not reached (a `down` removes the username keys logins look up): that
 * login cannot be checked, so it answers 503, which the login limit does not count, never 401.
 * A wrong password for an account that is found is still a 401.
 */
export function loginWhileSchemaChanges(db: Database, gate: SchemaGate): ErrorRequestHandler {
  return (error, req, _res, next) => {
    const unchecked =
      error instanceof AppError &&
      error.code === 'invalid-credentials' &&
      gate.writesBlocked() !== undefined;
    if (!unchecked) return next(error);
    findLoginAccount(db, req.body as Credentials).then(({ account }) => {
      if (account) return next(error);
      next(
        new AppError(
          'migrations-pending',
          'This login cannot be checked while the schema changes; try again shortly',
        ),
      );
    }, next);
  };
}
