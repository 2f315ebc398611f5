import type { Express } from 'express';
import type { Database } from '../db/connection.ts';

/** Liveness needs only the process; readiness needs the database to answer a ping. */
export function mountHealth(app: Express, db: Database): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await db.connection.getClient().db('admin').command({ ping: 1 }, { timeoutMS: 2000 });
      res.json({ status: 'ready', engine: db.capabilities.engine });
    } catch {
      res.status(503).json({
        error: { code: 'database-unavailable', message: 'The database does not answer' },
      });
    }
  });
}
