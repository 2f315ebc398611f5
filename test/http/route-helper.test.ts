import express, { type ErrorRequestHandler } from 'express';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { defineRoute, mountRoutes } from '../../src/http/route.ts';
import type { PendingUser } from '../../src/shared/auth-user.ts';
import type { AuthRecord } from '../../src/users/queries.ts';

/**
 * The route helper's guarantee for `auth: 'deferred'`: no answer leaves before the handler has
 * confirmed the token. (The feed tests show the real confirmation against the database.)
 */
function appWith(handler: (user: PendingUser) => Promise<unknown>) {
  const app = express();
  const pending = (): PendingUser => {
    let confirmed: PendingUser['confirmed'];
    return {
      id: 'u1',
      async confirm(record: AuthRecord | undefined) {
        if (!record) throw new Error('no record');
        confirmed = { id: 'u1', username: record.username };
        return confirmed;
      },
      get confirmed() {
        return confirmed;
      },
    };
  };
  mountRoutes(
    app,
    [
      defineRoute(
        {
          method: 'get',
          path: '/thing',
          summary: 'a deferred route',
          tag: 'test',
          auth: 'deferred',
          status: 200,
          errors: [401],
        },
        ({ user }) => handler(user),
      ),
    ],
    {
      now: async () => undefined,
      later: async (header) => (header ? pending() : undefined),
    },
  );
  const errors: string[] = [];
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    errors.push(error instanceof Error ? error.message : String(error));
    res.status(500).json({ error: { code: 'internal' } });
  };
  app.use(onError);
  return { api: supertest(app), errors };
}

describe("auth: 'deferred'", () => {
  it('answers once the handler has confirmed the token', async () => {
    const { api } = appWith(async (user) => {
      const me = await user.confirm({
        _id: undefined as never,
        username: 'ann',
        tokenVersion: 0,
      });
      return { secret: `for ${me.username}` };
    });
    const res = await api.get('/thing').set('Authorization', 'Bearer x');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ secret: 'for ann' });
  });

  it('turns a handler that never confirmed into a 500 that carries none of its result', async () => {
    const { api, errors } = appWith(async () => ({ secret: 'leak' }));
    const res = await api.get('/thing').set('Authorization', 'Bearer x');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('leak');
    expect(errors).toEqual(['GET /thing answered without confirming its token']);
  });

  it('refuses a request without a token before the handler runs', async () => {
    let ran = false;
    const { api } = appWith(async () => {
      ran = true;
      return {};
    });
    const res = await api.get('/thing');
    expect(res.status).not.toBe(200);
    expect(ran).toBe(false);
  });
});
