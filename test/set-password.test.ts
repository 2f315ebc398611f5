import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/auth/passwords.ts';
import type { Database } from '../src/db/connection.ts';
import { dropTestDatabase, openTestDatabase } from './helpers/db.ts';

// The model method behind the shell's play-time session (docs/play-time.md).
describe('user.setPassword', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase('set_password');
  });
  afterAll(() => dropTestDatabase(db));

  it('on a new user, stores a hash that logs in; printing the user never shows it', async () => {
    const user = new db.User({ username: 'ann', email: 'ann@example.com' });
    await user.setPassword('correct horse battery');
    await user.save();

    const stored = await db.User.findById(user._id).lean();
    expect(await verifyPassword(stored?.passwordHash, 'correct horse battery')).toBe(true);
    expect(stored?.tokenVersion).toBe(0);
    expect(user.toObject()).not.toHaveProperty('passwordHash');
  });

  it('on a saved user, also revokes its tokens (tokenVersion + 1), as a change through the API does', async () => {
    const user = await db.User.findOne({ username: 'ann' }).orFail();
    await user.setPassword('another good password');
    await user.save();

    expect((await db.User.findById(user._id).lean())?.tokenVersion).toBe(1);
  });

  it('refuses a password the API would refuse, changing nothing', async () => {
    const user = await db.User.findOne({ username: 'ann' }).orFail();
    const before = user.passwordHash;

    await expect(user.setPassword('short')).rejects.toThrow(
      'a password has 8-128 characters, not 5',
    );
    expect(user.passwordHash).toBe(before);
    expect(user.isModified()).toBe(false);
  });
});
