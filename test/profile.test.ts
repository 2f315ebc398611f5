import { describe, expect, it } from 'vitest';
import { toObjectId } from '../src/db/object-id.ts';
import { recordLastSeen } from '../src/users/last-seen.ts';
import { useTestApp } from './helpers/app.ts';
import { aUser } from './helpers/builders.ts';
import { recordCommands } from './helpers/db.ts';

const t = useTestApp('profile');

describe('GET/PUT /api/users/:id/profile', () => {
  it('starts empty, and PUT replaces it (a field left out is cleared)', async () => {
    const user = await aUser(t.api);
    const empty = await t.api.get(`/api/users/${user.id}/profile`);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ aboutMe: null, avatarUrl: null });

    const put = await t.api
      .put(`/api/users/${user.id}/profile`)
      .set(user.auth)
      .send({ aboutMe: 'I write about databases', avatarUrl: 'https://example.com/me.png' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      aboutMe: 'I write about databases',
      avatarUrl: 'https://example.com/me.png',
    });
    expect((await t.api.get(`/api/users/${user.id}/profile`)).body.aboutMe).toBe(
      'I write about databases',
    );

    const replaced = await t.api
      .put(`/api/users/${user.id}/profile`)
      .set(user.auth)
      .send({ aboutMe: 'shorter' });
    expect(replaced.body).toMatchObject({ aboutMe: 'shorter', avatarUrl: null });
    // Embedded in the user document: no separate collection holds profiles.
    const stored = await t.db.User.findById(user.id).lean();
    expect(stored?.profile?.aboutMe).toBe('shorter');
  });

  it("refuses to change someone else's profile with 403", async () => {
    const owner = await aUser(t.api);
    const other = await aUser(t.api);
    const res = await t.api
      .put(`/api/users/${owner.id}/profile`)
      .set(other.auth)
      .send({ aboutMe: 'hacked' });
    expect(res.status).toBe(403);
    expect((await t.api.get(`/api/users/${owner.id}/profile`)).body.aboutMe).toBeNull();
  });

  it('rejects an aboutMe over 280 characters, a non-http avatar URL and lastSeen with 400', async () => {
    const user = await aUser(t.api);
    for (const body of [
      { aboutMe: 'x'.repeat(281) },
      { avatarUrl: 'javascript:alert(1)' },
      { avatarUrl: 'ftp://example.com/a.png' },
      { lastSeen: '2020-01-01T00:00:00Z' },
    ]) {
      const res = await t.api.put(`/api/users/${user.id}/profile`).set(user.auth).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (
        await t.api
          .put(`/api/users/${user.id}/profile`)
          .set(user.auth)
          .send({ aboutMe: 'x'.repeat(280) })
      ).status,
    ).toBe(200);
  });

  it('for an unknown user, is 404', async () => {
    expect((await t.api.get('/api/users/0123456789abcdef01234567/profile')).status).toBe(404);
  });
});

describe('lastSeen', () => {
  it('is set by an authenticated request in the presence collection, and written at most once a minute', async () => {
    const user = await aUser(t.api);
    const first = await recordCommands(t.db, () => t.api.get('/api/feed').set(user.auth));
    expect(first).toContain('update');
    const seen = (await t.api.get(`/api/users/${user.id}/profile`)).body.lastSeen;
    expect(Date.now() - Date.parse(seen)).toBeLessThan(10_000);
    expect((await t.db.Presence.findById(user.id).lean())?.lastSeen.toISOString()).toBe(seen);
    // Never on the user's own document, which holds the token version and password.
    expect(await t.db.User.collection.findOne({ _id: toObjectId(user.id) })).not.toHaveProperty(
      'profile.lastSeen',
    );

    const second = await recordCommands(t.db, () => t.api.get('/api/feed').set(user.auth));
    expect(second).not.toContain('update');
    expect((await t.api.get(`/api/users/${user.id}/profile`)).body.lastSeen).toBe(seen);

    // A minute later, the next request writes again.
    const later = new Date(Date.parse(seen) + 61_000);
    await recordLastSeen(t.db, toObjectId(user.id), later);
    expect((await t.api.get(`/api/users/${user.id}/profile`)).body.lastSeen).toBe(
      later.toISOString(),
    );
    // An older time never replaces a newer one (two processes writing).
    await recordLastSeen(t.db, toObjectId(user.id), new Date(later.getTime() + 120_000 - 1));
    await t.db.Presence.updateOne({ _id: user.id }, { $max: { lastSeen: new Date(0) } });
    expect(Date.parse((await t.api.get(`/api/users/${user.id}/profile`)).body.lastSeen)).toBe(
      later.getTime() + 120_000 - 1,
    );
  });

  it('is not changed by anonymous requests', async () => {
    const user = await aUser(t.api);
    await t.api.get(`/api/users/${user.id}`);
    expect((await t.api.get(`/api/users/${user.id}/profile`)).body.lastSeen).toBeNull();
  });
});
