import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Scope, ServiceToken } from '../config.js';
import { AccountLinkingError } from '../domain/errors.js';
import { sessionUserOf } from './auth/browser.js';

/**
 * Who is calling the API: a service with a token, or a signed-in browser session acting
 * on its own user (with its CSRF token on anything but a read).
 */
export type Caller =
  | { kind: 'service'; name: string; scopes: Scope[] }
  | { kind: 'session'; name: string; userId: string };

export const callerOf = (res: Response): Caller => {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new AccountLinkingError('unauthorized', 'authentication required');
  return caller;
};

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates `Authorization: Bearer <secret>` against the configured service tokens,
 * every one compared in constant time; without the header, a signed-in session.
 */
export const authenticateCaller = (
  tokens: ServiceToken[],
  csrfValid: (req: Request) => boolean,
): RequestHandler => {
  const known = tokens.map((token) => ({ token, digest: digest(token.secret) }));
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined) {
      const user = sessionUserOf(req);
      if (user) {
        if (!SAFE_METHODS.has(req.method) && !csrfValid(req)) {
          throw new AccountLinkingError(
            'forbidden',
            'send the session CSRF token in X-CSRF-Token',
          );
        }
        res.locals.caller = {
          kind: 'session',
          name: `user:${user.userId}`,
          userId: user.userId,
        };
        return next();
      }
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new AccountLinkingError('unauthorized', 'a service token is required');
    }
    const presented = digest(match[1] as string);
    let found: ServiceToken | null = null;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.digest, presented)) found = candidate.token;
    }
    if (!found) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new AccountLinkingError('unauthorized', 'the service token is not valid');
    }
    res.locals.caller = { kind: 'service', name: found.name, scopes: found.scopes };
    next();
  };
};

/**
 * A service token needs the scope. A session passes only for its own user (the route
 * parameter named), or when the route checks ownership itself (`deferred`).
 */
export const requireScope =
  (
    scope: Scope,
    session: { ownUserParam?: string; deferred?: boolean } = {},
  ): RequestHandler =>
  (req, res, next) => {
    const caller = callerOf(res);
    if (caller.kind === 'service') {
      if (!caller.scopes.includes(scope)) {
        throw new AccountLinkingError('forbidden', `this token lacks the ${scope} scope`);
      }
      return next();
    }
    if (session.deferred) return next();
    if (session.ownUserParam && req.params[session.ownUserParam] === caller.userId) {
      return next();
    }
    throw new AccountLinkingError(
      'forbidden',
      'a browser session may only act on its own user',
    );
  };
