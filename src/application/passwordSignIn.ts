import { randomUUID } from 'node:crypto';
import { streams } from '../domain/values.js';
import type { Services } from './context.js';
import { loadGuard, loadUser, systemExecution } from './execution.js';
import { hashPassword, verifyPassword } from './passwords.js';

export type PasswordSignIn =
  | { ok: true; userId: string }
  | {
      ok: false;
      reason: 'unknown' | 'wrong-password' | 'no-password' | 'inactive' | 'merged';
    };

/**
 * Checks a username and password against the log itself (the username's guard stream and
 * the user's stream), never a lagging read model.
 */
export const signInWithPassword = async (
  services: Services,
  username: string,
  password: string,
): Promise<PasswordSignIn> => {
  const execution = systemExecution(services, 'sign-in');
  const guard = await loadGuard(execution, streams.username(username));
  if (guard.status !== 'claimed' || guard.userId === null) {
    return refusedAfterHashing(services, password, 'unknown');
  }
  const user = (await loadUser(execution, guard.userId)).state;
  // A merged account's own password still proves who is asking: they may be told where
  // their account went (anyone else learns nothing they could not guess).
  if (user.status === 'merged' && user.passwordHash) {
    return (await verifyPassword(password, user.passwordHash))
      ? { ok: false, reason: 'merged' }
      : { ok: false, reason: 'wrong-password' };
  }
  if (user.status !== 'active')
    return refusedAfterHashing(services, password, 'inactive');
  if (!user.passwordHash) return refusedAfterHashing(services, password, 'no-password');
  return (await verifyPassword(password, user.passwordHash))
    ? { ok: true, userId: user.userId }
    : { ok: false, reason: 'wrong-password' };
};

// A hash of nothing anyone can type, made once per cost: refusals without a password to
// check still spend the time of checking one.
const decoys = new Map<number, Promise<string>>();

/**
 * A refusal that takes as long as a wrong password does: answering at once would tell
 * whoever is guessing which usernames exist (about 4 ms against 100 ms).
 */
const refusedAfterHashing = async (
  services: Services,
  password: string,
  reason: 'unknown' | 'inactive' | 'no-password',
): Promise<PasswordSignIn> => {
  const { cost } = services.passwords;
  let decoy = decoys.get(cost);
  if (!decoy) {
    decoy = hashPassword(randomUUID(), cost);
    decoys.set(cost, decoy);
  }
  await verifyPassword(password, await decoy);
  return { ok: false, reason };
};
