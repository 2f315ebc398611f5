import { randomBytes } from 'node:crypto';
import type supertest from 'supertest';
import { expect } from 'vitest';

export interface TestUser {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
  auth: { Authorization: string };
}

const unique = () => randomBytes(4).toString('hex');

/** Registers a user through the API and logs it in. */
export async function aUser(
  api: supertest.Agent,
  overrides: Partial<{ username: string; email: string; password: string }> = {},
): Promise<TestUser> {
  const username = overrides.username ?? `user_${unique()}`;
  const email = overrides.email ?? `${username}@example.com`;
  const password = overrides.password ?? 'correct horse battery';
  const registered = await api.post('/api/users').send({ username, email, password });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  const login = await api.post('/api/tokens').send({ username, password });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return {
    id: registered.body.id,
    username,
    email: email.toLowerCase(),
    password,
    token: login.body.token,
    auth: { Authorization: `Bearer ${login.body.token}` },
  };
}

export interface TestPost {
  id: string;
  body: string;
  tags: string[];
  timestamp: string;
  author: { id: string; username: string };
}

/**
 * Publishes a post through the API (as `author`, with `tags` when given: the request then carries
 * them as written, so normalisation is the server's) and returns its JSON.
 */
export async function aPost(
  api: supertest.Agent,
  author: TestUser,
  { body = `post ${unique()}`, tags }: { body?: string; tags?: string[] } = {},
): Promise<TestPost> {
  const res = await api
    .post('/api/posts')
    .set(author.auth)
    .send(tags === undefined ? { body } : { body, tags });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as TestPost;
}
