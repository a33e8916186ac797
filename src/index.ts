/**
 * The service as a library, for programs that embed it: start it on a configuration and,
 * if they wish, decide sign-ins themselves.
 *
 * ```ts
 * import { loadConfig, startService, decideSignIn } from 'account-links';
 * const service = await startService(loadConfig(), {
 *   decideSignIn: (context, policy) =>
 *     context.identity.email?.endsWith('@example.com')
 *       ? decideSignIn(context, policy)
 *       : { kind: 'reject', reason: 'rejected-by-policy' },
 * });
 * ```
 */
export { loadConfig, ConfigError, type Config } from './config.js';
export { startService, type RunningService, type StartOptions } from './service.js';
export {
  decideSignIn,
  type SignInContext,
  type SignInDecision,
  type SignInIntent,
} from './domain/signIn.js';
export type { SignInDecider } from './application/signIn.js';
export type { Policy } from './domain/policies.js';
export { AccountLinkingError, type ErrorCode } from './domain/errors.js';
