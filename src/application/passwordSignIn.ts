import { randomUUID } from 'node:crypto';
import { streams } from '../domain/values.js';
import type { Services } from './context.js';
import { loadGuard, loadUser, startExecution } from './execution.js';
import { verifyPassword } from './passwords.js';

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
  const execution = startExecution(services, {
    actor: 'system',
    flow: 'sign-in',
    correlationId: randomUUID(),
    requestId: null,
    commandId: randomUUID(),
    idempotent: false,
  });
  const guard = await loadGuard(execution, streams.username(username));
  if (guard.status !== 'claimed' || guard.userId === null) {
    return { ok: false, reason: 'unknown' };
  }
  const user = (await loadUser(execution, guard.userId)).state;
  // A merged account's own password still proves who is asking: they may be told where
  // their account went (anyone else learns nothing they could not guess).
  if (user.status === 'merged' && user.passwordHash) {
    return (await verifyPassword(password, user.passwordHash))
      ? { ok: false, reason: 'merged' }
      : { ok: false, reason: 'wrong-password' };
  }
  if (user.status !== 'active') return { ok: false, reason: 'inactive' };
  if (!user.passwordHash) return { ok: false, reason: 'no-password' };
  return (await verifyPassword(password, user.passwordHash))
    ? { ok: true, userId: user.userId }
    : { ok: false, reason: 'wrong-password' };
};
