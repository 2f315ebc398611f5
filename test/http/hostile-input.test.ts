import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_DEPTH } from '../../src/http/body-guard.ts';
import { useTestApp } from '../helpers/app.ts';
import { aPost, aUser, type TestUser } from '../helpers/builders.ts';

const t = useTestApp('http_hostile_input');
let alice: TestUser;
let postId: string;
beforeAll(async () => {
  alice = await aUser(t.api, { username: 'alice_hostile' });
  postId = (await aPost(t.api, alice, { body: 'the original body' })).id;
});

/** Everything a hostile request could have changed. */
async function snapshot() {
  const users = await t.db.User.find({}, { username: 1, email: 1, passwordHash: 1 }).lean();
  const posts = await t.db.Post.find({}, { body: 1, tags: 1, author: 1 }).lean();
  return JSON.stringify({ users, posts });
}

const validRegistration = {
  username: 'mallory',
  email: 'mallory@example.com',
  password: 'x'.repeat(12),
};

describe('MongoDB operator injection', () => {
  const queries = [
    '/api/posts?author[$ne]=x',
    '/api/posts?author[$regex]=.*',
    '/api/posts?author%5B%24ne%5D=x',
    '/api/posts?$where=sleep(1000)',
    '/api/posts?since[$gt]=2000-01-01T00:00:00Z',
    '/api/users?sort[$ne]=username',
    '/api/users?limit[$gt]=0',
    '/api/posts?author=665f1c2b9d3e4a0012345678&author=665f1c2b9d3e4a0012345679',
    '/api/users/%7B%22%24ne%22%3Anull%7D',
    '/api/users/665f1c2b9d3e4a0012345678.x/posts',
    '/api/tags/%24where/posts',
    '/api/users?__proto__[admin]=1',
  ];
  it.each(queries)('GET %s is 400 and runs no query', async (url) => {
    const res = await t.api.get(url);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toMatch(/^(validation-failed|invalid-id)$/);
  });

  const logins: Array<[string, object]> = [
    ['an operator as the email', { email: { $gt: '' }, password: 'whatever long' }],
    ['operators in both fields', { username: { $ne: null }, password: { $ne: null } }],
    ['an operator as the password', { username: 'alice_hostile', password: { $gt: '' } }],
    ['a $where key', { $where: 'return true', password: 'whatever long' }],
    ['a dotted key', { 'username.first': 'alice_hostile', password: 'x' }],
  ];
  it.each(logins)('POST /api/tokens with %s is 400, never a token', async (_name, body) => {
    const res = await t.api.post('/api/tokens').send(body);
    expect(res.status).toBe(400);
    expect(res.body.token).toBeUndefined();
  });

  const writes: Array<[string, string, string, object]> = [
    ['register with $-keys', 'post', '/api/users', { ...validRegistration, $set: { x: 1 } }],
    [
      'register with __proto__',
      'post',
      '/api/users',
      JSON.parse(
        `{"__proto__": {"admin": true}, "username": "mallory", "email": "m@example.com", "password": "xxxxxxxxxxxx"}`,
      ),
    ],
    [
      'register with constructor.prototype',
      'post',
      '/api/users',
      { ...validRegistration, constructor: { prototype: { admin: true } } },
    ],
    ['post with an operator body', 'post', '/api/posts', { body: { $gt: '' } }],
    ['post with a dotted key', 'post', '/api/posts', { body: 'hi', 'author.id': 'x' }],
    ['edit with $set', 'patch', '/api/posts/:post', { $set: { author: null } }],
    ['edit with an operator in tags', 'patch', '/api/posts/:post', { tags: { $each: ['x'] } }],
    ['a user patch with $inc', 'patch', '/api/users/:me', { $inc: { tokenVersion: -1 } }],
  ];
  it.each(writes)('%s is 400 and changes nothing', async (_name, method, path, body) => {
    const before = await snapshot();
    const url = path.replace(':post', postId).replace(':me', alice.id);
    const res = await (method === 'post' ? t.api.post(url) : t.api.patch(url))
      .set(alice.auth)
      .send(body);
    expect(res.status).toBe(400);
    expect(await snapshot()).toBe(before);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('as a second wall, Mongoose sanitizeFilter makes a smuggled operator a value, which fails', async () => {
    const unsafe = { username: { $ne: '' } } as unknown as { username: string };
    expect(await t.db.User.countDocuments()).toBeGreaterThan(0);
    await expect(t.db.User.findOne(unsafe).lean()).rejects.toThrow(/Cast to string failed/);
  });
});

/** POSTs the bytes as they are: superagent would serialize a Buffer as JSON. */
function sendRaw(payload: string | Buffer, type = 'application/json') {
  return t.api
    .post('/api/posts')
    .set(alice.auth)
    .set('Content-Type', type)
    .serialize((data: unknown) => data as string)
    .send(payload);
}

describe('malformed, oversized and odd bodies', () => {
  const raw: Array<[string, string | Buffer, string?]> = [
    ['unterminated JSON', '{"username": '],
    ['a trailing comma', '{"body": "x",}'],
    ['single quotes', "{'body': 'x'}"],
    ['NaN', '{"body": NaN}'],
    ['a bare string', '"just a string"'],
    ['null', 'null'],
    [
      'invalid UTF-8 bytes',
      Buffer.from([0x7b, 0x22, 0x62, 0x6f, 0x64, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    ],
    [
      'an overlong UTF-8 encoding',
      Buffer.concat([Buffer.from('{"body":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
    ],
    ['a huge number', '{"body": 1e400}'],
    ['a number instead of a string', '{"body": 12345678901234567890123456789}'],
    ['an array instead of a string', '{"body": ["a", "b"]}'],
    ['deep nesting', `${'{"a":'.repeat(MAX_BODY_DEPTH + 1)}1${'}'.repeat(MAX_BODY_DEPTH + 1)}`],
    ['very deep nesting', `${'['.repeat(40_000)}${']'.repeat(40_000)}`],
    ['duplicate keys hiding an operator', '{"body": "fine", "body": {"$gt": ""}}'],
    [
      'too many tags',
      JSON.stringify({ body: 'x', tags: Array.from({ length: 500 }, (_, i) => `t${i}`) }),
    ],
    ['a 10,000-character body field', JSON.stringify({ body: 'x'.repeat(10_000) })],
    ['JSON sent as text/plain', '{"body": "x"}', 'text/plain'],
    ['a latin1 charset', '{"body": "x"}', 'application/json; charset=latin1'],
    ['a body over the size limit', JSON.stringify({ body: 'x'.repeat(200_000) })],
  ];
  it.each(raw)(
    'POST /api/posts with %s is a 4xx and stores nothing',
    async (_name, payload, type) => {
      const before = await snapshot();
      const res = await sendRaw(payload, type);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await snapshot()).toBe(before);
    },
  );

  it('names the reason: malformed-json, payload-too-large, unsupported-media-type', async () => {
    const post = sendRaw;
    expect((await post(Buffer.from([0x7b, 0xff, 0x7d]))).body.error.code).toBe('malformed-json');
    expect((await post('{"body": ')).body.error.code).toBe('malformed-json');
    const big = await post(JSON.stringify({ body: 'x'.repeat(200_000) }));
    expect([big.status, big.body.error.code]).toEqual([413, 'payload-too-large']);
    const latin1 = await post('{}', 'application/json; charset=latin1');
    expect([latin1.status, latin1.body.error.code]).toEqual([415, 'unsupported-media-type']);
    const deep = await post(`${'{"a":'.repeat(20)}1${'}'.repeat(20)}`);
    expect(deep.body.error.details[0].message).toMatch(/deeper than/);
  });

  const urls = [
    '/api/users/%FF',
    '/api/posts/%E0%A4%A',
    '/api/posts?cursor=%FF%FE%FD',
    `/api/posts?cursor=${'A'.repeat(600)}`,
    '/api/posts?limit=1e400',
    '/api/posts?limit=99999999999999999999999',
    '/api/posts?limit=-1',
    '/api/posts?limit=',
    '/api/posts?since=yesterday',
    `/api/posts?since=2024-01-01T00:00:00.${'1'.repeat(100)}Z`,
    `/api/tags/${'a'.repeat(300)}/posts`,
    '/api/users?sort=password',
  ];
  it.each(urls)('GET %s is 400, not a 5xx', async (url) => {
    const res = await t.api.get(url);
    expect(res.status).toBe(400);
  });

  it('odd but valid strings (a lone surrogate escape, NUL, RTL marks) never cause a 5xx', async () => {
    for (const body of ['\ud800', 'a\u0000b', '\u202eevil', '💥'.repeat(35)]) {
      const res = await t.api.post('/api/posts').set(alice.auth).send({ body });
      expect(res.status, body).toBeLessThan(500);
    }
  });
});
