import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineListener } from '../../scripts/bench/baseline.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { useTestApp } from '../helpers/app.ts';
import { aPost, aUser, type TestUser } from '../helpers/builders.ts';

// The bench's baseline pages with the API's own helper, so both answer the same pages, take the
// same cursors and refuse the same ones.
const t = useTestApp('contract_baseline');
let alice: TestUser;
let server: Server;
let base: string;
beforeAll(async () => {
  alice = await aUser(t.api);
  const bob = await aUser(t.api);
  for (let i = 0; i < 3; i++) await aPost(t.api, alice);
  const carol = await aUser(t.api);
  for (const follower of [bob, carol]) {
    expect((await t.api.put(`/api/users/${alice.id}/follow`).set(follower.auth)).status).toBe(204);
  }
  const tokens = createTokenService(loadConfig({ NODE_ENV: 'test' }).auth);
  server = createServer(baselineListener(t.db.connection.db as unknown as Db, tokens));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const baseline = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('the bench baseline and the API page the same way', () => {
  it('same first page, same cursor, and the API cursor gives the same second page', async () => {
    for (const path of ['/api/posts', `/api/users/${alice.id}/posts`]) {
      const api = await t.api.get(`${path}?limit=2`);
      const raw = await baseline(`${path}?limit=2`);
      expect(raw.status).toBe(200);
      expect(raw.body).toEqual(api.body);
      const next = `${path}?limit=2&cursor=${api.body.nextCursor}`;
      expect((await baseline(next)).body).toEqual((await t.api.get(next)).body);
    }
  });

  it("refuses another list's cursor, trailing junk and a bad limit like the API", async () => {
    const followers = await t.api.get(`/api/users/${alice.id}/followers?limit=1`);
    const userPosts = await t.api.get(`/api/users/${alice.id}/posts?limit=1`);
    const badUrls = [
      `/api/posts?cursor=${followers.body.nextCursor}`,
      `/api/posts?cursor=${userPosts.body.nextCursor}`,
      `/api/posts?cursor=${userPosts.body.nextCursor}x`,
      '/api/posts?cursor=',
    ];
    expect(followers.body.nextCursor).toEqual(expect.any(String));
    for (const url of badUrls) {
      const [api, raw] = [await t.api.get(url), await baseline(url)];
      expect([url, api.status, raw.status]).toEqual([url, 400, 400]);
      expect(raw.body).toEqual({ error: { code: 'invalid-cursor' } });
    }
    for (const limit of ['1e1', '0x10', '101', '']) {
      expect((await baseline(`/api/posts?limit=${limit}`)).status, limit).toBe(400);
    }
  });
});
