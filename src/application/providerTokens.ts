import { AccountLinkingError } from '../domain/errors.js';
import { assertActive } from '../domain/user.js';
import type { IdentityKey } from '../domain/values.js';
import { identityKeyOf, streams } from '../domain/values.js';
import type { ProviderTokens, TokenVault } from '../storage/tokenVault.js';
import type { Services } from './context.js';
import { loadGuard, loadUser, systemExecution } from './execution.js';

/**
 * Stores the tokens a sign-in brought, by identity. When the identity was released by the
 * time they are in (an erasure or an unlink that raced the sign-in removed its holder's
 * tokens before these arrived), they go again at once: whoever released it after this
 * check removes them itself, as it removes tokens after it releases.
 */
export const keepSignInTokens = async (
  services: Services,
  vault: TokenVault,
  identity: IdentityKey,
  tokens: ProviderTokens,
): Promise<void> => {
  await vault.put(identity, tokens);
  const execution = systemExecution(services, 'sign-in');
  const guard = await loadGuard(execution, streams.identity(identity));
  if (guard.status === 'released') {
    // The vault's own clock, as the erasure uses: tokens stored up to now go.
    await vault.removeIfOlder(identity, new Date(Date.now() + 1));
  }
};

/** Asks a provider for a new access token with a refresh token. */
export type RefreshTokens = (
  provider: string,
  refreshToken: string,
) => Promise<Omit<ProviderTokens, 'scopes'> & { scopes: string[] | null }>;

// A token this close to its expiry counts as expired: it could lapse in the caller's hands.
const EXPIRY_MARGIN_MS = 60_000;

export interface CurrentToken {
  provider: string;
  subject: string;
  accessToken: string;
  scopes: string[];
  expiresAt: Date | null;
}

/**
 * A user's current access token for a provider, refreshed when it has expired. Concurrent
 * requests for one identity share a single refresh.
 */
export const createProviderTokens = (deps: {
  services: Services;
  vault: TokenVault;
  refresh: RefreshTokens;
}) => {
  const refreshing = new Map<string, Promise<ProviderTokens>>();

  const expired = (tokens: ProviderTokens): boolean =>
    tokens.expiresAt !== null &&
    tokens.expiresAt.getTime() - EXPIRY_MARGIN_MS <= deps.services.now().getTime();

  const refreshOnce = (identity: IdentityKey): Promise<ProviderTokens> => {
    const key = identityKeyOf(identity);
    let running = refreshing.get(key);
    if (!running) {
      running = (async () => {
        // Read again: a refresh that just finished elsewhere needs no second one.
        const stored = await deps.vault.get(identity);
        if (!stored) throw noToken();
        if (!expired(stored)) return stored;
        if (!stored.refreshToken) throw reauthenticate();
        const fresh = await deps
          .refresh(identity.provider, stored.refreshToken)
          .catch(() => {
            throw reauthenticate();
          });
        const next: ProviderTokens = {
          accessToken: fresh.accessToken,
          refreshToken: fresh.refreshToken ?? stored.refreshToken,
          scopes: fresh.scopes ?? stored.scopes,
          expiresAt: fresh.expiresAt,
        };
        await deps.vault.put(identity, next);
        deps.services.logger.info(
          { provider: identity.provider },
          'access token refreshed',
        );
        return next;
      })().finally(() => refreshing.delete(key));
      refreshing.set(key, running);
    }
    return running;
  };

  return {
    current: async (
      userId: string,
      provider: string,
      subject: string | undefined,
    ): Promise<CurrentToken> => {
      const execution = systemExecution(deps.services, 'api');
      const user = (await loadUser(execution, userId)).state;
      assertActive(user);
      const connection = user.connections.find(
        (c) =>
          c.provider === provider && (subject === undefined || c.subject === subject),
      );
      if (!connection) {
        throw new AccountLinkingError(
          'identity-not-found',
          `the user has no ${provider} connection${subject === undefined ? '' : ` ${subject}`}`,
        );
      }
      const identity = { provider, subject: connection.subject };
      let tokens = await deps.vault.get(identity);
      if (!tokens) throw noToken();
      if (expired(tokens)) tokens = await refreshOnce(identity);
      return {
        provider,
        subject: connection.subject,
        accessToken: tokens.accessToken,
        scopes: tokens.scopes,
        expiresAt: tokens.expiresAt,
      };
    },
  };
};

const noToken = () =>
  new AccountLinkingError('not-found', 'no token is stored for this connection');

const reauthenticate = () =>
  new AccountLinkingError(
    'reauthentication-required',
    'the token expired and could not be refreshed; the person must sign in again',
  );
