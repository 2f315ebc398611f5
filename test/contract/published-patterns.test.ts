import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/shared/instant.ts';
import { codePointLength } from '../../src/shared/text.ts';
import { useTestApp } from '../helpers/app.ts';
import { aUser, type TestUser } from '../helpers/builders.ts';

type Json = Record<string, unknown>;
type Rule = {
  id: string;
  pattern: string;
  minLength?: number;
  maxLength?: number;
  calendar?: boolean;
};
type Probe = {
  id: string;
  compiled: boolean;
  error?: string;
  values: { value: string; accepted: boolean }[];
};

const t = useTestApp('contract_patterns');
let document: { paths: Record<string, Record<string, Json>> };
let me: TestUser;
beforeAll(async () => {
  document = (await t.api.get('/openapi.json')).body;
  me = await aUser(t.api);
});

/** Every string schema with a pattern in the document, with where it is. */
function patterned(node: unknown, where = '#'): Array<{ where: string; schema: Json }> {
  if (Array.isArray(node)) return node.flatMap((child, i) => patterned(child, `${where}/${i}`));
  if (!node || typeof node !== 'object') return [];
  const object = node as Json;
  const own = typeof object.pattern === 'string' ? [{ where, schema: object }] : [];
  return [
    ...own,
    ...Object.entries(object).flatMap(([key, child]) => patterned(child, `${where}/${key}`)),
  ];
}

/** Python's answer for each rule: does `re` compile it, and values generated from its parse. */
function probe(rules: Rule[], count: number, seed: number): Probe[] {
  const python = spawnSync('python3', [join(import.meta.dirname, '../helpers/regex_probe.py')], {
    input: JSON.stringify({ rules, count, seed }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(python.status, python.stderr).toBe(0);
  return JSON.parse(python.stdout) as Probe[];
}

function bodyProperty(path: string, method: string, name: string): Json {
  const body = document.paths[path]?.[method]?.requestBody as Json;
  const schema = (body.content as Record<string, { schema: Json }>)['application/json']
    ?.schema as Json;
  return (schema.properties as Record<string, Json>)[name] as Json;
}

function parameter(path: string, method: string, name: string): Json {
  const parameters = document.paths[path]?.[method]?.parameters as Array<{
    name: string;
    schema: Json;
  }>;
  return parameters.find((p) => p.name === name)?.schema as Json;
}

function ruleOf(id: string, schema: Json, extra: Partial<Rule> = {}): Rule {
  return {
    id,
    pattern: schema.pattern as string,
    ...(typeof schema.minLength === 'number' ? { minLength: schema.minLength } : {}),
    ...(typeof schema.maxLength === 'number' ? { maxLength: schema.maxLength } : {}),
    ...extra,
  };
}

describe('every published pattern', () => {
  it('is anchored, has no lookaround, property escape or \\s/\\d/\\w, and compiles with Python re', () => {
    const all = patterned(document);
    expect(all.length).toBeGreaterThan(20);
    const unique = [...new Map(all.map(({ where, schema }) => [schema.pattern as string, where]))];
    for (const [pattern, where] of unique) {
      expect(pattern, where).toMatch(/^\^.*\$$/);
      expect(pattern, where).not.toMatch(/\(\?<?[=!]|\\[pPsSdDwW]/);
    }
    const answers = probe(
      unique.map(([pattern], i) => ({ id: String(i), pattern })),
      1,
      1,
    );
    expect(
      answers.filter((a) => !a.compiled).map((a) => `${a.error}: ${unique[Number(a.id)]?.[0]}`),
    ).toEqual([]);
  });

  it("accepts in the server exactly what Python's reading of it accepts, on values Python generated and mutated", async () => {
    const post = '/api/posts';
    const profile = '/api/users/{id}/profile';
    const user = '/api/users/{id}';
    const send: Record<string, (value: string) => Promise<{ status: number }>> = {
      postBody: (v) => t.api.post('/api/posts').set(me.auth).send({ body: v }),
      aboutMe: (v) => t.api.put(`/api/users/${me.id}/profile`).set(me.auth).send({ aboutMe: v }),
      avatarUrl: (v) =>
        t.api.put(`/api/users/${me.id}/profile`).set(me.auth).send({ avatarUrl: v }),
      username: (v) => t.api.patch(`/api/users/${me.id}`).set(me.auth).send({ username: v }),
      email: (v) => t.api.patch(`/api/users/${me.id}`).set(me.auth).send({ email: v }),
      tag: (v) => t.api.get(`/api/tags/${encodeURIComponent(v)}/posts`),
      since: (v) => t.api.get(`/api/posts?since=${encodeURIComponent(v)}`),
      id: (v) => t.api.get(`/api/posts/${encodeURIComponent(v)}`),
    };
    const rules = [
      ruleOf('postBody', bodyProperty(post, 'post', 'body')),
      ruleOf('aboutMe', bodyProperty(profile, 'put', 'aboutMe')),
      ruleOf('avatarUrl', bodyProperty(profile, 'put', 'avatarUrl')),
      ruleOf('username', bodyProperty(user, 'patch', 'username')),
      ruleOf('email', bodyProperty(user, 'patch', 'email')),
      ruleOf('tag', parameter('/api/tags/{name}/posts', 'get', 'name')),
      ruleOf('since', parameter(post, 'get', 'since'), { calendar: true }),
      ruleOf('id', parameter('/api/posts/{id}', 'get', 'id')),
    ];
    // What the server answers when the value passed validation (409: a name or email taken).
    const passed = new Set([200, 201, 404, 409]);
    const disagreements: string[] = [];
    let accepted = 0;
    let refused = 0;
    for (const answer of probe(rules, 12, Date.now() % 100_000)) {
      const rule = rules.find((r) => r.id === answer.id) as Rule;
      expect([rule.id, answer.compiled, answer.values.length >= 12]).toEqual([rule.id, true, true]);
      const js = new RegExp(rule.pattern, 'u');
      for (const { value, accepted: python } of answer.values) {
        const length = codePointLength(value);
        // The calendar is the format's part of the rule (a pattern cannot say which days exist).
        const byJs =
          js.test(value) &&
          length >= (rule.minLength ?? 0) &&
          length <= (rule.maxLength ?? Infinity) &&
          (!rule.calendar || parseInstant(value) !== undefined);
        const res = await (send[rule.id] as (v: string) => Promise<{ status: number }>)(value);
        const byServer = passed.has(res.status);
        if (!passed.has(res.status) && res.status !== 400) {
          disagreements.push(`${rule.id} ${JSON.stringify(value)}: status ${res.status}`);
        }
        if (byJs !== python || byServer !== python) {
          disagreements.push(
            `${rule.id} ${JSON.stringify(value)}: python ${python}, javascript ${byJs}, server ${res.status}`,
          );
        }
        if (python) accepted += 1;
        else refused += 1;
      }
    }
    expect(disagreements).toEqual([]);
    // Both sides of every rule were exercised, not only values that pass.
    expect(accepted).toBeGreaterThan(rules.length * 12);
    expect(refused).toBeGreaterThan(rules.length);
  });
});
