import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_ID } from '../../src/http/schemas.ts';
import { hashPassword } from '../../src/users/password.ts';
import { useTestApp } from '../helpers/app.ts';
import { aUser, type TestUser } from '../helpers/builders.ts';

type Json = Record<string, unknown>;
type Parameter = { name: string; in: 'path' | 'query'; schema: Json };
type Operation = { parameters?: Parameter[]; requestBody?: Json; responses: Json };

const t = useTestApp('contract_examples');
let document: { paths: Record<string, Record<string, Operation>> };
let mallory: TestUser;
beforeAll(async () => {
  document = (await t.api.get('/openapi.json')).body;
});

function operation(path: string, method: string): Operation {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
}

function exampleOf(schema: Json, where: string): unknown {
  if ('example' in schema) return schema.example;
  const properties = schema.properties as Record<string, Json> | undefined;
  if (schema.type === 'object' && properties) {
    return Object.fromEntries(
      Object.entries(properties).map(([name, property]) => [
        name,
        exampleOf(property, `${where}.${name}`),
      ]),
    );
  }
  throw new Error(`${where} has no example`);
}

/** The request the document's examples make for an operation: path, query and body, as published. */
function exampleRequest(path: string, method: string) {
  const op = operation(path, method);
  let url = path;
  const query = new URLSearchParams();
  for (const parameter of op.parameters ?? []) {
    const value = String(exampleOf(parameter.schema, `${method} ${path} ${parameter.name}`));
    if (parameter.in === 'path')
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(value));
    else query.set(parameter.name, value);
  }
  const content = (op.requestBody?.content as Record<string, { schema: Json }> | undefined)?.[
    'application/json'
  ];
  const body = content ? exampleOf(content.schema, `${method} ${path} body`) : undefined;
  const success = Object.keys(op.responses).find((status) => status.startsWith('2'));
  return { url: query.size > 0 ? `${url}?${query}` : url, body, success: Number(success) };
}

async function send(
  path: string,
  method: string,
  auth?: Record<string, string>,
): Promise<{ status: number; body: Json; success: number; url: string }> {
  const { url, body, success } = exampleRequest(path, method);
  let request = t.api[method as 'get'](url);
  if (auth) request = request.set(auth);
  const res = body === undefined ? await request : await request.send(body as object);
  return { status: res.status, body: res.body, success, url };
}

/** A fresh token of the example user (some examples revoke the previous one). */
async function asJohn(): Promise<Record<string, string>> {
  const { status, body } = await send('/api/tokens', 'post');
  expect(status).toBe(200);
  return { Authorization: `Bearer ${body.token}` };
}

describe('every example in /openapi.json', () => {
  it('is sent as published to its operation and gets the documented success', async () => {
    const answered: string[] = [];
    const expectSuccess = async (path: string, method: string, auth?: Record<string, string>) => {
      const res = await send(path, method, auth);
      answered.push(`${method} ${path}`);
      expect([method, res.url, res.status, res.body]).toEqual([
        method,
        res.url,
        res.success,
        res.body,
      ]);
      return res;
    };

    // Registration first, on an empty database; then the example user is the one with the
    // example id, which every {id} example names.
    await expectSuccess('/api/users', 'post');
    await t.db.User.deleteMany({});
    await t.db.User.create({
      _id: EXAMPLE_ID,
      username: 'john',
      email: 'john@example.com',
      passwordHash: await hashPassword('correct horse battery'),
    });
    mallory = await aUser(t.api, { username: 'mallory' });
    const created = await t.db.Post.create({
      _id: EXAMPLE_ID,
      body: 'an example post',
      author: EXAMPLE_ID,
      tags: ['mongodb'],
      timestamp: new Date('2024-03-01T00:00:00Z'),
    });
    await t.db.Tag.create({ name: 'mongodb', postCount: 1 });
    expect(String(created._id)).toBe(EXAMPLE_ID);

    await expectSuccess('/healthz', 'get');
    await expectSuccess('/readyz', 'get');
    await expectSuccess('/api/tokens', 'post');
    // The lists: each example cursor is one the list issued for the other examples, so each
    // answers 200 and, where the example data lies after the cursor, a non-empty page.
    for (const path of [
      '/api/users',
      '/api/posts',
      '/api/users/{id}/posts',
      '/api/tags',
      '/api/tags/{name}/posts',
    ]) {
      const res = await expectSuccess(path, 'get');
      expect([path, (res.body.items as unknown[]).length > 0]).toEqual([path, true]);
    }
    const feed = await expectSuccess('/api/feed', 'get', await asJohn());
    expect((feed.body.items as unknown[]).length).toBeGreaterThan(0);
    await expectSuccess('/api/users/{id}', 'get');
    await expectSuccess('/api/users/{id}/profile', 'get');
    await expectSuccess('/api/users/{id}/profile', 'put', await asJohn());
    await expectSuccess('/api/users/{id}/follow', 'put', mallory.auth);
    await expectSuccess('/api/users/{id}/followers', 'get');
    await expectSuccess('/api/users/{id}/following', 'get');
    await expectSuccess('/api/users/{id}/follow', 'delete', mallory.auth);
    await expectSuccess('/api/posts', 'post', await asJohn());
    await expectSuccess('/api/posts/{id}', 'get');
    await expectSuccess('/api/posts/{id}', 'patch', await asJohn());
    await expectSuccess('/api/posts/{id}', 'delete', await asJohn());
    await expectSuccess('/api/users/{id}', 'patch', await asJohn());
    await expectSuccess('/api/tokens', 'delete', await asJohn());
    await expectSuccess('/api/users/{id}', 'delete', await asJohn());

    const published = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    expect([...new Set(answered)].sort()).toEqual(published.sort());
  });

  it('exists for every parameter and body of every operation', () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const method of Object.keys(methods)) {
        expect(() => exampleRequest(path, method), `${method} ${path}`).not.toThrow();
      }
    }
  });
});
