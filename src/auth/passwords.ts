import { verify } from '@node-rs/argon2';
import { hashPassword } from '../users/password.ts';

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password; with no stored hash (unknown user) it still spends the time of a real
 * verification, so response time does not tell whether an account exists.
 */
export async function verifyPassword(
  storedHash: string | undefined,
  password: string,
): Promise<boolean> {
  if (storedHash) return verify(storedHash, password);
  dummyHash ??= hashPassword('no-such-user-dummy-password');
  await verify(await dummyHash, password);
  return false;
}
