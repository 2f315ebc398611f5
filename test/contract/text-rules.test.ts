import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { aUser, type TestUser } from '../helpers/builders.ts';

type Json = Record<string, unknown>;

const t = useTestApp('contract_text');
let alice: TestUser;
let document: Json & { paths: Record<string, Record<string, Json>>; components: Json };
beforeAll(async () => {
  alice = await aUser(t.api);
  document = JSON.parse(JSON.stringify(t.app.locals.openApiDocument));
});

/** A body property's schema as the document publishes it. */
function published(path: string, method: string, property: string): Json {
  const operation = document.paths[path]?.[method] as Json;
  const body = (operation.requestBody as Json).content as Record<string, { schema: Json }>;
  const schema = body['application/json']?.schema as Json;
  return (schema.properties as Record<string, Json>)[property] as Json;
}

/** Whether the document's schema accepts a string, as a JSON Schema engine reads it. */
function documentAccepts(schema: Json, value: string): boolean {
  const length = [...value].length;
  if (typeof schema.maxLength === 'number' && length > schema.maxLength) return false;
  if (typeof schema.minLength === 'number' && length < schema.minLength) return false;
  return typeof schema.pattern !== 'string' || new RegExp(schema.pattern, 'u').test(value);
}

/** POSTs a body as raw JSON text, so escapes such as a lone surrogate reach the server as sent. */
function postRaw(json: string) {
  return t.api
    .post('/api/posts')
    .set(alice.auth)
    .set('Content-Type', 'application/json')
    .send(json);
}

const postCount = () => t.db.Post.countDocuments();

describe('post bodies', () => {
  // [what, body, accepted]
  const cases: Array<[string, string, boolean]> = [
    ['80 emoji (160 UTF-16 units)', '💥'.repeat(80), true],
    ['140 emoji', '😀'.repeat(140), true],
    ['141 emoji', '😀'.repeat(141), false],
    ['140 letters', 'a'.repeat(140), true],
    ['141 letters', 'a'.repeat(141), false],
    ['140 combining sequences counted per code point', 'e\u0301'.repeat(70), true],
    ['newlines and tabs', 'line one\n\tline two', true],
    ['only spaces', '     ', false],
    ['only zero-width spaces', '\u200b\u200b\u200b', false],
    ['only a BOM', '\ufeff', false],
    ['only direction marks', '\u200e\u200f\u202e', false],
    ['zero-width joiners and spaces', '\u200d \u2060 \u00a0', false],
    ['a NUL byte', 'a\u0000b', false],
    ['a bell', 'ding\u0007', false],
    ['a carriage return', 'a\rb', false],
    ['an escape sequence', '\u001b[31mred', false],
    ['a C1 control', 'a\u0085b', false],
    ['a visible character among invisible ones', '\u200bhi\u200b', true],
  ];
  it.each(cases)('%s: the API and the document agree (accepted: %s)', async (_what, body, ok) => {
    const before = await postCount();
    const res = await t.api.post('/api/posts').set(alice.auth).send({ body });
    expect(res.status, res.text).toBe(ok ? 201 : 400);
    if (ok) expect(res.body.body).toBe(body.trim());
    else {
      expect(res.body.error).toMatchObject({ code: 'validation-failed' });
      expect(res.body.error.details[0].path).toBe('body.body');
      expect(await postCount()).toBe(before);
    }
    expect(documentAccepts(published('/api/posts', 'post', 'body'), body)).toBe(ok);
  });

  it('a lone surrogate is refused, never stored as U+FFFD', async () => {
    const before = await postCount();
    for (const escaped of ['\\ud800', 'a\\udfffb', '\\ud83d']) {
      const res = await postRaw(`{"body": "${escaped}"}`);
      expect([escaped, res.status]).toEqual([escaped, 400]);
      expect(res.body.error.details[0].message).toMatch(/lone surrogate/);
    }
    expect(await postCount()).toBe(before);
    const bodies = (await t.db.Post.find({}, { body: 1 }).lean()).map((p) => p.body);
    expect(bodies.filter((body) => body.includes('\ufffd'))).toEqual([]);
    // A pair written as two escapes is one emoji (control).
    expect((await postRaw('{"body": "\\ud83d\\ude00"}')).body.body).toBe('😀');
  });

  it('PATCH holds an edit to the same rules', async () => {
    const created = await t.api.post('/api/posts').set(alice.auth).send({ body: 'fine' });
    const url = `/api/posts/${created.body.id}`;
    expect((await t.api.patch(url).set(alice.auth).send({ body: '\u200b' })).status).toBe(400);
    expect(
      (
        await t.api
          .patch(url)
          .set(alice.auth)
          .send({ body: '🙂'.repeat(140) })
      ).status,
    ).toBe(200);
  });
});

describe('profiles and passwords', () => {
  const profile = () => `/api/users/${alice.id}/profile`;

  it('aboutMe counts code points, refuses NUL and other controls, keeps newlines', async () => {
    const put = (aboutMe: string) => t.api.put(profile()).set(alice.auth).send({ aboutMe });
    expect((await put('🙂'.repeat(280))).status).toBe(200);
    expect((await put('🙂'.repeat(281))).status).toBe(400);
    expect((await put('hi\u0000there')).status).toBe(400);
    expect((await put('\ud800')).status).toBe(400);
    const kept = await put('two\nlines');
    expect([kept.status, kept.body.aboutMe]).toEqual([200, 'two\nlines']);
    expect(documentAccepts(published('/api/users/{id}/profile', 'put', 'aboutMe'), 'a\u0000')).toBe(
      false,
    );
  });

  it('a password with a NUL or another control character is refused at registration', async () => {
    for (const password of ['correct\u0000horse battery', 'correct horse\u0008battery']) {
      const res = await t.api
        .post('/api/users')
        .send({ username: `ctl_${Date.now()}`, email: `ctl${Date.now()}@example.com`, password });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe('body.password');
    }
  });

  it('password length is counted in code points: 128 emoji fit, 129 do not', async () => {
    const register = (username: string, password: string) =>
      t.api.post('/api/users').send({ username, email: `${username}@example.com`, password });
    expect((await register('emoji_pw_long', '🔑'.repeat(129))).status).toBe(400);
    expect((await register('emoji_pw', '🔑'.repeat(128))).status).toBe(201);
    const login = await t.api
      .post('/api/tokens')
      .send({ username: 'emoji_pw', password: '🔑'.repeat(128) });
    expect(login.status).toBe(200);
  });
});
