import type supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { aUser, type TestUser } from './helpers/builders.ts';

// Security writes to a user document racing the requests of the same user. Each authenticated
// request records presence (lastSeen, at most once a minute); on an engine that applies an update
// by reading and rewriting the whole document (FerretDB v1: capabilities.atomicUpdates false),
// that write used to share the user document and could put back the tokenVersion or email it
// had read. Each race is repeated ROUNDS times with a fresh user, enough to catch a loss that
// happens in one trial of ten (how often it was seen: docs/operations.md, "FerretDB v1 as seen
// here"): every response is checked, and so is what the database kept.
const ROUNDS = 20;
const READS = 6;

const t = useTestApp('user_races');

/** READS concurrent GET /api/users/:id with the user's token, started with `write`. */
async function raceReads(user: TestUser, write: () => supertest.Test) {
  const reads = Array.from({ length: READS }, () =>
    t.api.get(`/api/users/${user.id}`).set(user.auth),
  );
  const [written, ...answers] = await Promise.all([write(), ...reads]);
  // A read finishes before or after the write: the old token is then valid (200) or revoked
  // (401), never anything else.
  for (const res of answers) expect([200, 401], JSON.stringify(res.body)).toContain(res.status);
  return written as supertest.Response;
}

async function tokenVersionOf(user: TestUser): Promise<number> {
  const stored = await t.db.User.findById(user.id, { tokenVersion: 1 }).lean();
  return stored?.tokenVersion ?? -1;
}

describe('a user document written while the same user reads', () => {
  it(`DELETE /api/tokens racing ${READS} reads never leaves the old token valid (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const user = await aUser(t.api);
      const revoked = await raceReads(user, () => t.api.delete('/api/tokens').set(user.auth));
      expect(revoked.status, JSON.stringify(revoked.body)).toBe(204);
      const after = await t.api.get(`/api/users/${user.id}`).set(user.auth);
      expect(after.status, `round ${round}: the revoked token still works`).toBe(401);
      expect(await tokenVersionOf(user)).toBe(1);
    }
  });

  it(`a password change racing ${READS} reads is never lost (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const user = await aUser(t.api);
      const password = `new password ${round}`;
      const changed = await raceReads(user, () =>
        t.api.patch(`/api/users/${user.id}`).set(user.auth).send({ password }),
      );
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect((await t.api.get(`/api/users/${user.id}`).set(user.auth)).status).toBe(401);
      const oldLogin = await t.api
        .post('/api/tokens')
        .send({ username: user.username, password: user.password });
      expect(oldLogin.status, `round ${round}: the old password still works`).toBe(401);
      const newLogin = await t.api.post('/api/tokens').send({ username: user.username, password });
      expect(newLogin.status, JSON.stringify(newLogin.body)).toBe(200);
      expect(await tokenVersionOf(user)).toBe(1);
    }
  });

  it(`an email change racing ${READS} reads is never lost (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const user = await aUser(t.api);
      const email = `changed-${round}-${user.username}@example.com`;
      const changed = await raceReads(user, () =>
        t.api.patch(`/api/users/${user.id}`).set(user.auth).send({ email }),
      );
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body.email).toBe(email);
      const me = await t.api.get(`/api/users/${user.id}`).set(user.auth);
      expect(me.status).toBe(200);
      expect(me.body.email, `round ${round}: the email change was lost`).toBe(email);
    }
  });
});

describe('writes to one user document racing each other', () => {
  it(`an email change, a profile update and a revocation at once all stay (${ROUNDS} rounds)`, async () => {
    // Three updates of one document at the same moment: where updates are not atomic, the
    // process's writes to the document take turns (src/db/document-turns.ts), so none is lost.
    for (let round = 0; round < ROUNDS; round += 1) {
      const user = await aUser(t.api);
      const email = `both-${round}-${user.username}@example.com`;
      const aboutMe = `round ${round}`;
      const [patched, profiled, revoked] = await Promise.all([
        t.api.patch(`/api/users/${user.id}`).set(user.auth).send({ email }),
        t.api.put(`/api/users/${user.id}/profile`).set(user.auth).send({ aboutMe }),
        t.api.delete('/api/tokens').set(user.auth),
      ]);
      // Each request was authenticated before any of them wrote, or after the revocation (401).
      for (const res of [patched, profiled])
        expect([200, 401], JSON.stringify(res.body)).toContain(res.status);
      expect(revoked.status).toBe(204);
      const stored = await t.db.User.findById(user.id).lean();
      expect(stored?.tokenVersion, `round ${round}: the revocation was lost`).toBe(1);
      if (patched.status === 200) expect(stored?.email, `round ${round}`).toBe(email);
      if (profiled.status === 200) expect(stored?.profile?.aboutMe, `round ${round}`).toBe(aboutMe);
    }
  });
});
