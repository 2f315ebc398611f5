import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { aUser } from '../helpers/builders.ts';
import { checkedAgent, OpenApiChecker } from '../helpers/openapi-check.ts';

type Json = Record<string, unknown>;

let t: TestApp;
let document: Json & { paths: Record<string, Record<string, Json>>; components: Json };
beforeAll(async () => {
  t = await startTestApp('hardening_openapi');
  document = (await t.api.get('/openapi.json')).body;
});
afterAll(async () => {
  await t.close();
});

function operations() {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
}

function resolve(schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = ref.replace('#/components/schemas/', '');
  return resolve((document.components.schemas as Record<string, Json>)[name] as Json);
}

/** Every way a request schema can be unbounded, as "where: why" sentences. */
function unbounded(schema: Json, where: string): string[] {
  const s = resolve(schema);
  const problems: string[] = [];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const [i, part] of ((s[key] as Json[] | undefined) ?? []).entries()) {
      problems.push(...unbounded(part, `${where}.${key}[${i}]`));
    }
  }
  const types = ([] as unknown[]).concat(s.type ?? []);
  const anchoredFinitePattern =
    typeof s.pattern === 'string' && /^\^.*\$$/.test(s.pattern) && !/[*+]|\{\d+,\}/.test(s.pattern);
  if (types.includes('string') && s.maxLength === undefined && !s.enum && !anchoredFinitePattern) {
    problems.push(`${where}: string without maxLength`);
  }
  if ((types.includes('integer') || types.includes('number')) && s.maximum === undefined) {
    problems.push(`${where}: number without maximum`);
  }
  if (types.includes('array')) {
    if (s.maxItems === undefined) problems.push(`${where}: array without maxItems`);
    if (s.items) problems.push(...unbounded(s.items as Json, `${where}[]`));
  }
  if (types.includes('object') || s.properties) {
    if (s.additionalProperties !== false) problems.push(`${where}: object accepts unknown fields`);
    for (const [name, property] of Object.entries((s.properties as Json) ?? {})) {
      problems.push(...unbounded(property as Json, `${where}.${name}`));
    }
  }
  return problems;
}

describe('the OpenAPI document', () => {
  it('bounds every request input: string lengths, numbers, array lengths, no unknown fields', () => {
    const problems = operations().flatMap(({ path, method, operation }) => {
      const where = `${method.toUpperCase()} ${path}`;
      const parameters = (operation.parameters as Json[] | undefined) ?? [];
      const body = (operation.requestBody as Json | undefined)?.content as Json | undefined;
      const bodySchema = (body?.['application/json'] as Json | undefined)?.schema as Json;
      return [
        ...parameters.flatMap((p) => unbounded(p.schema as Json, `${where} ${p.in} ${p.name}`)),
        ...(bodySchema ? unbounded(bodySchema, `${where} body`) : []),
      ];
    });
    expect(problems).toEqual([]);
    expect(operations().length).toBeGreaterThan(10);
  });

  it('lists 429 and 503 with the Error shape on every operation', () => {
    for (const { path, method, operation } of operations()) {
      const responses = operation.responses as Record<string, Json>;
      for (const status of ['429', '503']) {
        expect(responses[status], `${method} ${path} ${status}`).toMatchObject({
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        });
      }
    }
  });
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
