import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineListener, expressFloor } from '../../scripts/bench/baseline.ts';
import { parseOptions } from '../../scripts/bench/options.ts';
import { createTokenService } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { useTestApp } from '../helpers/app.ts';
import { aPost, aUser, type TestUser } from '../helpers/builders.ts';

// `npm run bench -- --floor` compares the API with bare Express routes over the same service
// code; the comparison means something only while both answer every measured read alike.
const t = useTestApp('bench_floor');
let alice: TestUser;
let bob: TestUser;
let server: Server;
let baselineServer: Server;
let base: string;
let baselineBase: string;
beforeAll(async () => {
  alice = await aUser(t.api);
  bob = await aUser(t.api);
  for (let i = 0; i < 3; i++) await aPost(t.api, alice, { tags: [`t${i}`] });
  await aPost(t.api, bob);
  expect((await t.api.put(`/api/users/${alice.id}/follow`).set(bob.auth)).status).toBe(204);
  const tokens = createTokenService(loadConfig({ NODE_ENV: 'test' }).auth);
  server = createServer(expressFloor(t.db, tokens));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  baselineServer = createServer(baselineListener(t.db.connection.db as unknown as Db, tokens));
  await new Promise<void>((resolve) => baselineServer.listen(0, '127.0.0.1', resolve));
  baselineBase = `http://127.0.0.1:${(baselineServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => baselineServer.close(resolve));
});

describe('the bench: Express alone (--floor) and the baseline', () => {
  it("answers each measured read with the API's status and JSON", async () => {
    const post = (await t.api.get('/api/posts?limit=1')).body.items[0].id as string;
    const reads: [string, Record<string, string>][] = [
      ['/api/posts?limit=2', {}],
      [`/api/users/${alice.id}/posts?limit=20`, {}],
      ['/api/feed?limit=20', bob.auth],
      [`/api/posts/${post}`, {}],
    ];
    for (const [path, headers] of reads) {
      const api = await t.api.get(path).set(headers);
      const floor = await fetch(`${base}${path}`, { headers });
      expect([path, floor.status]).toEqual([path, api.status]);
      expect(api.status).toBe(200);
      expect(await floor.json()).toEqual(api.body);
      // The baseline (node:http and the driver reads) answers alike too.
      const raw = await fetch(`${baselineBase}${path}`, { headers });
      expect([path, raw.status]).toEqual([path, 200]);
      expect(await raw.json()).toEqual(api.body);
    }
    // The feed holds bob's own post and alice's: the token reached the service.
    const feed = (await t.api.get('/api/feed').set(bob.auth)).body.items as unknown[];
    expect(feed).toHaveLength(4);
  });

  it('is off unless --floor is given; --warmup-requests takes 0 or a count', () => {
    expect(parseOptions([])).toMatchObject({ floor: false, warmupRequests: 4000 });
    expect(parseOptions(['--floor', '--warmup-requests', '0'])).toMatchObject({
      floor: true,
      warmupRequests: 0,
    });
    expect(() => parseOptions(['--warmup-requests', '-5'])).toThrow(/--warmup-requests/);
  });
});
