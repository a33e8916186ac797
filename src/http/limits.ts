import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AccountLinkingError } from '../domain/errors.js';

/**
 * At most `max` requests through here at once; the next is refused at once with a 429 and
 * `Retry-After`, rather than queued without bound (a queue only turns overload into
 * timeouts, and every waiting request holds memory).
 */
export const inFlightLimit = (max: number): RequestHandler => {
  let inFlight = 0;
  return (_req: Request, res: Response, next: NextFunction) => {
    if (inFlight >= max) {
      res.setHeader('Retry-After', '1');
      throw new AccountLinkingError(
        'rate-limited',
        'too many commands are being handled; retry in a moment',
      );
    }
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
    next();
  };
};

/**
 * Answers `503 unavailable` when a request has not been answered within `ms`. Work already
 * started is not undone (a command may still complete): a client retrying a command with
 * the same Idempotency-Key gets its original answer.
 */
export const requestDeadline =
  (ms: number): RequestHandler =>
  (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      req.log.warn({ ms }, 'request timed out');
      next(
        new AccountLinkingError(
          'unavailable',
          `no answer within ${ms / 1000} s; retry (with the same Idempotency-Key for a command)`,
        ),
      );
    }, ms);
    res.once('close', () => clearTimeout(timer));
    res.once('finish', () => clearTimeout(timer));
    next();
  };

/**
 * Refuses at once a body declared larger than `maxBytes`. The body parser refuses it too,
 * but answers only once the declared body has been read or the request has timed out: a
 * client that declares a huge body and sends none would wait there for the deadline.
 */
export const declaredBodyLimit =
  (maxBytes: number): RequestHandler =>
  (req, _res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      throw new AccountLinkingError(
        'payload-too-large',
        'the request body is larger than 1 MB',
      );
    }
    next();
  };
