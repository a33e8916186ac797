import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Scope, ServiceToken } from '../config.js';
import { AccountLinkingError } from '../domain/errors.js';

/** Who is calling: a service with a token. (Browser sessions join with the OAuth flows.) */
export interface Caller {
  kind: 'service';
  name: string;
  scopes: Scope[];
}

export const callerOf = (res: Response): Caller => {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new AccountLinkingError('unauthorized', 'authentication required');
  return caller;
};

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Authenticates `Authorization: Bearer <secret>` against the configured service tokens.
 * Every token is compared, in constant time, so timing tells nothing about which matched.
 */
export const serviceTokenAuth = (tokens: ServiceToken[]): RequestHandler => {
  const known = tokens.map((token) => ({ token, digest: digest(token.secret) }));
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
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

export const requireScope =
  (scope: Scope): RequestHandler =>
  (_req, res, next) => {
    if (!callerOf(res).scopes.includes(scope)) {
      throw new AccountLinkingError('forbidden', `this token lacks the ${scope} scope`);
    }
    next();
  };
