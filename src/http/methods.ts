import type { RequestHandler } from 'express';
import { AccountLinkingError } from '../domain/errors.js';

/** Answers 405 with the Allow header for a known path used with another method. */
export const methodNotAllowed =
  (allowed: string[]): RequestHandler =>
  (_req, res) => {
    res.setHeader('Allow', allowed.join(', '));
    throw new AccountLinkingError(
      'method-not-allowed',
      `use ${allowed.join(' or ')} on this path`,
    );
  };
