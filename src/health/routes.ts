import { z } from 'zod';
import type { Database } from '../db/connection.ts';
import { checkWritablePrimary, type PrimaryCheck } from '../db/replication.ts';
import { type DatabaseWatch, databaseUnavailable } from '../http/database-guard.ts';
import { defineRoute } from '../http/route.ts';
import type { SchemaGate } from '../http/write-gate.ts';
import { withinMs } from '../shared/deadline.ts';
import { AppError } from '../shared/errors.ts';

/** /readyz answers within about twice this: the hello, then the schema gate's wait (2 s each). */
const HELLO_BOUND_MS = 2000;

const liveView = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });
const readyView = z
  .object({
    status: z.literal('ready'),
    engine: z.enum(['mongodb', 'ferretdb']),
    /** What the app is connected to; a 200 means its writes have a primary to go to. */
    topology: z.enum(['standalone', 'replica-set', 'sharded']),
  })
  .meta({ id: 'Readiness' });

/**
 * Liveness needs only the process; readiness needs a writable primary (the server the driver
 * selects for writes answers hello with isWritablePrimary) and, where main wired it, a schema that
 * matches the code (no pending migration, every declared unique index). A replica set in an
 * election, or a direct connection to a secondary, is not ready: every write would fail.
 */
export function healthRoutes({
  db,
  database,
  schema,
}: {
  db: Database;
  database: DatabaseWatch;
  /** The migration state; absent where indexes come from autoIndex (tests). */
  schema?: SchemaGate;
}) {
  return [
    defineRoute(
      {
        method: 'get',
        path: '/healthz',
        summary: 'Liveness: the process is up',
        tag: 'health',
        auth: 'none',
        status: 200,
        response: liveView,
        errors: [],
      },
      async () => ({ status: 'ok' as const }),
    ),
    defineRoute(
      {
        method: 'get',
        path: '/readyz',
        summary:
          'Readiness: a writable primary answers, no migration is pending and every declared unique index exists (503 otherwise)',
        tag: 'health',
        auth: 'none',
        status: 200,
        response: readyView,
        errors: [503],
      },
      () => readiness(db, database, schema),
    ),
  ];
}

async function readiness(db: Database, database: DatabaseWatch, schema?: SchemaGate) {
  if (!database.isUp()) {
    database.nudge();
    throw databaseUnavailable();
  }
  let primary: PrimaryCheck | 'late';
  try {
    primary = await withinMs(
      checkWritablePrimary(db.connection),
      HELLO_BOUND_MS,
      () => 'late' as const,
    );
  } catch {
    database.trip();
    throw databaseUnavailable();
  }
  // Slow is not down: requests keep going to the database; only this answer is 503.
  if (primary === 'late') {
    throw new AppError(
      'database-unavailable',
      `The database did not answer hello within ${HELLO_BOUND_MS} ms`,
    );
  }
  if (!primary.writablePrimary) {
    throw new AppError(
      'database-unavailable',
      'The database answers but no writable primary is reachable (an election, or a connection to a secondary)',
    );
  }
  // 503 with a code of its own: a load balancer only needs "not yet", an operator needs to
  // know that `npm run migrate -- up` (or `indexes`) is what is missing, not the database.
  const problem = await schema?.notReady();
  if (problem) throw problem;
  return { status: 'ready' as const, engine: db.capabilities.engine, topology: primary.topology };
}
