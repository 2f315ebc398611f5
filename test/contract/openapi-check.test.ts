import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { checkedAgent, OpenApiChecker } from '../helpers/openapi-check.ts';

type Json = Record<string, unknown>;

const t = useTestApp('contract_openapi_check');
let document: Json & { paths: Record<string, Record<string, Json>>; components: Json };
beforeAll(async () => {
  document = (await t.api.get('/openapi.json')).body;
});

describe('the response check wired into startTestApp', () => {
  it('fails a request whose status the document does not list', async () => {
    const drifted = structuredClone(document);
    const get = drifted.paths['/api/users/{id}']?.get as { responses: Record<string, Json> };
    delete get.responses['404'];
    const api = checkedAgent(supertest.agent(t.app), new OpenApiChecker(drifted));
    await expect(api.get('/api/users/665f1c2b9d3e4a0012345678')).rejects.toThrow(
      /GET \/api\/users\/665f1c2b9d3e4a0012345678 answered 404, which the OpenAPI document does not list/,
    );
  });

  it('reports an undocumented field, a wrong type and a missing field in a body', async () => {
    const user = await aUser(t.api);
    const res = await t.api.get(`/api/users/${user.id}`);
    const checker = new OpenApiChecker(document);
    const received = {
      method: 'GET',
      url: `/api/users/${user.id}`,
      status: 200,
      contentType: 'application/json; charset=utf-8',
      text: res.text,
    };
    expect(checker.check({ ...received, body: res.body })).toBeUndefined();
    expect(checker.check({ ...received, body: { ...res.body, passwordHash: 'x' } })).toMatch(
      /must NOT have unevaluated properties.*passwordHash/,
    );
    expect(checker.check({ ...received, body: { ...res.body, postCount: '1' } })).toMatch(
      /\/postCount must be integer/,
    );
    const { username: _, ...withoutName } = res.body;
    expect(checker.check({ ...received, body: withoutName })).toMatch(/username/);
  });

  it('allows a path outside the document only as a 404 in the Error shape', () => {
    const checker = new OpenApiChecker(document);
    const base = { method: 'GET', url: '/api/nope', contentType: 'application/json', text: '' };
    const notFound = { error: { code: 'not-found', message: 'No route' } };
    expect(checker.check({ ...base, status: 404, body: notFound })).toBeUndefined();
    expect(checker.check({ ...base, status: 200, body: {} })).toMatch(/no such operation/);
    expect(checker.check({ ...base, status: 404, body: { message: 'x' } })).toMatch(/match/);
  });
});
