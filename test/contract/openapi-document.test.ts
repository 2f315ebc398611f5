import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { statusByCode } from '../../src/http/error-handler.ts';
import { useTestApp } from '../helpers/app.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
type Operation = Json & { parameters?: Json[]; requestBody?: Json; responses: Json };

const t = useTestApp('contract_openapi');
let document: Json & { paths: Record<string, Record<string, Operation>>; components: Json };
beforeAll(async () => {
  document = (await t.api.get('/openapi.json')).body;
});

function operations() {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
}

/** Every schema object in the document, with where it is. */
function schemas(node: unknown, where = '#'): Array<{ where: string; schema: Json }> {
  if (Array.isArray(node)) return node.flatMap((child, i) => schemas(child, `${where}/${i}`));
  if (!node || typeof node !== 'object') return [];
  const object = node as Json;
  const own =
    typeof object.type === 'string' || 'pattern' in object ? [{ where, schema: object }] : [];
  return [
    ...own,
    ...Object.entries(object).flatMap(([key, child]) => schemas(child, `${where}/${key}`)),
  ];
}

function bodySchema(operation: Operation): Json | undefined {
  const content = operation.requestBody?.content as Record<string, { schema: Json }> | undefined;
  return content?.['application/json']?.schema;
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

describe('the generated OpenAPI document', () => {
  it('is valid OpenAPI 3.1 by the specification schema', async () => {
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('has only ECMA-262 patterns, each compiling with the u flag, without JavaScript flags', () => {
    const patterns = schemas(document).filter(({ schema }) => typeof schema.pattern === 'string');
    expect(patterns.length).toBeGreaterThan(10);
    for (const { where, schema } of patterns) {
      const pattern = schema.pattern as string;
      expect(() => new RegExp(pattern, 'u'), where).not.toThrow();
      expect(pattern, where).not.toMatch(/\/[dgimsuvy]+$/);
    }
  });

  it('every example satisfies its own schema, as a JSON Schema engine (ajv) reads it', () => {
    const ajv = addFormats(new Ajv2020({ strict: false, unicodeRegExp: true }));
    const withExamples = schemas(document).filter(({ schema }) => 'example' in schema);
    expect(withExamples.length).toBeGreaterThan(5);
    for (const { where, schema } of withExamples) {
      const { example, ...rules } = schema;
      expect(ajv.validate(rules, example), `${where}: ${JSON.stringify(example)}`).toBe(true);
    }
  });

  it('publishes tag names as the API reads them: either case, padded, up to 32 characters', () => {
    const tagParam = document.paths['/api/tags/{name}/posts']?.get?.parameters?.find(
      (p) => p.name === 'name',
    ) as Json;
    const pattern = new RegExp((tagParam.schema as Json).pattern as string, 'u');
    for (const name of ['mongodb', 'MongoDB', ' sql-vs-docs ', 'a', 'x'.repeat(32)]) {
      expect(pattern.test(name), name).toBe(true);
    }
    for (const name of ['', '-x', 'x'.repeat(33), 'a b', 'tag!']) {
      expect(pattern.test(name), name).toBe(false);
    }
  });

  it('publishes emails and avatar URLs as the patterns the API checks, not as formats that promise more', () => {
    const register = bodySchema(document.paths['/api/users']?.post as Operation) as Json;
    const properties = register.properties as Record<string, Json>;
    expect(properties.email).toMatchObject({ type: 'string', maxLength: 254 });
    expect(properties.email).not.toHaveProperty('format');
    const email = new RegExp(properties.email?.pattern as string, 'u');
    for (const address of ['a*b@example.com', 'a=b@example.com', "o'hara+x@mail.example.org"]) {
      expect(email.test(address), address).toBe(true);
    }
    for (const address of [
      '"a b"@example.com',
      'a@[127.0.0.1]',
      'a@localhost',
      'a..b@example.com',
    ]) {
      expect(email.test(address), address).toBe(false);
    }
    const profile = bodySchema(document.paths['/api/users/{id}/profile']?.put as Operation) as Json;
    const avatar = (profile.properties as Record<string, Json>).avatarUrl as Json;
    expect(avatar).toMatchObject({ maxLength: 2048 });
    expect(avatar).not.toHaveProperty('format');
    const url = new RegExp(avatar.pattern as string, 'u');
    expect(url.test('ftp://example.com/a.png')).toBe(false);
    expect(url.test('http://127.0.0.1/a.png')).toBe(false);
    expect(url.test('https://example.com/a.png?size=2#x')).toBe(true);
  });

  it('requires at least one property in PATCH bodies, and exactly one login identifier', () => {
    for (const path of ['/api/users/{id}', '/api/posts/{id}']) {
      expect(bodySchema(document.paths[path]?.patch as Operation), path).toMatchObject({
        minProperties: 1,
      });
    }
    expect(bodySchema(document.paths['/api/tokens']?.post as Operation)).toMatchObject({
      oneOf: [{ required: ['username'] }, { required: ['email'] }],
      required: ['password'],
    });
  });

  it('describes cursors as opaque tokens with their own error, on every list', () => {
    const lists = operations().filter(({ operation }) =>
      operation.parameters?.some((p) => p.name === 'cursor'),
    );
    expect(lists.length).toBe(8);
    for (const { path, operation } of lists) {
      const cursor = operation.parameters?.find((p) => p.name === 'cursor') as Json;
      expect(cursor.schema, path).toMatchObject({
        type: 'string',
        minLength: 1,
        maxLength: 512,
        pattern: '^[A-Za-z0-9_-]+$',
      });
      expect(cursor.description, path).toMatch(/invalid-cursor/);
      expect((operation.responses['400'] as Json).description, path).toMatch(/invalid-cursor/);
      const limit = operation.parameters?.find((p) => p.name === 'limit') as Json;
      expect(limit.schema, path).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    }
  });

  it('names every error code the API sends, and no other, in the Error schema', () => {
    const error = (document.components.schemas as Record<string, Json>).Error as Json;
    const code = (
      ((error.properties as Record<string, Json>).error as Json).properties as Record<string, Json>
    ).code as Json;
    expect([...(code.enum as string[])].sort()).toEqual(Object.keys(statusByCode).sort());
  });

  it('lists every status each operation can answer', () => {
    for (const { path, method, operation } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const statuses = Object.keys(operation.responses);
      expect(statuses, where).toEqual(
        expect.arrayContaining(['400', '413', '415', '429', '431', '500', '503']),
      );
      if (operation.security) expect(statuses, where).toContain('401');
      if (path.includes('{id}')) expect(statuses, where).toContain('404');
      if (
        ['patch', 'put', 'delete'].includes(method) &&
        path.includes('{id}') &&
        path !== '/api/users/{id}/follow'
      ) {
        expect(statuses, where).toContain('403');
      }
    }
  });

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

  it('is served at GET /openapi.json and describes every API route with the schemas that validate it', async () => {
    const res = await t.api.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = Object.keys(res.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/users',
        '/api/users/{id}',
        '/api/users/{id}/posts',
        '/api/posts',
        '/api/posts/{id}',
        '/api/tokens',
      ]),
    );
    const register =
      res.body.paths['/api/users'].post.requestBody.content['application/json'].schema;
    expect(register.required).toEqual(expect.arrayContaining(['username', 'email', 'password']));
    expect(register.additionalProperties).toBe(false);
    expect(res.body.components.schemas.Post.properties.author).toBeDefined();
  });
});
