import type { ErrorRequestHandler, Request, Response } from 'express';
import {
  MESSAGES,
  messagePage,
  type Message,
  type MessageKey,
} from './pages/messagePage.js';
import type { ErrorCode, FieldError } from '../domain/errors.js';
import { AccountLinkingError, isAccountLinkingError } from '../domain/errors.js';

/** The one place where error codes become HTTP statuses. */
export const STATUS_OF: Record<ErrorCode, number> = {
  'malformed-json': 400,
  unauthorized: 401,
  forbidden: 403,
  'unknown-command': 404,
  'not-found': 404,
  'user-not-found': 404,
  'identity-not-found': 404,
  'method-not-allowed': 405,
  'identity-already-linked': 409,
  'provider-already-linked': 409,
  'identity-not-linked': 409,
  'last-sign-in-method': 409,
  'user-merged': 409,
  'user-erased': 409,
  'email-belongs-to-existing-user': 409,
  'username-taken': 409,
  'reauthentication-required': 409,
  'revision-mismatch': 412,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'validation-failed': 422,
  'idempotency-key-reused': 422,
  'rate-limited': 429,
  internal: 500,
  'projection-lagging': 503,
  unavailable: 503,
};

/** One fixed title per code; what happened this time goes to `detail`. */
const TITLES: Record<ErrorCode, string> = {
  'malformed-json': 'The body is not valid JSON',
  'unsupported-media-type': 'The body is not JSON',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed',
  'unknown-command': 'Unknown command',
  'not-found': 'Not found',
  'user-not-found': 'User not found',
  'identity-not-found': 'Identity not found',
  'method-not-allowed': 'Method not allowed',
  'identity-already-linked': 'Identity already linked to another user',
  'provider-already-linked': 'The user already has an identity of this provider',
  'identity-not-linked': 'Identity not linked to this user',
  'last-sign-in-method': 'Last sign-in method',
  'user-merged': 'User was merged',
  'user-erased': 'User was erased',
  'email-belongs-to-existing-user': 'Email belongs to an existing user',
  'username-taken': 'Username taken',
  'reauthentication-required': 'The person must sign in with the provider again',
  'revision-mismatch': 'Revision mismatch',
  'payload-too-large': 'Payload too large',
  'validation-failed': 'Validation failed',
  'idempotency-key-reused': 'Idempotency-Key reused',
  'rate-limited': 'Too many requests',
  'projection-lagging': 'Read model lagging',
  unavailable: 'Unavailable',
  internal: 'Internal error',
};

export const PROBLEM_TYPE_BASE = 'https://account-links.dev/problems/';

export interface Problem {
  type: string;
  code: ErrorCode;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

const RESERVED = new Set([
  'type',
  'code',
  'title',
  'status',
  'detail',
  'instance',
  'errors',
]);

/**
 * The path a problem happened at, for `instance`: without its query, which may carry a
 * one-time code and state (a sign-in callback) or an email, and at most 200 characters.
 */
const instanceOf = (url: string): string => {
  const path = url.split('?', 1)[0]!;
  return path.length > 200 ? `${path.slice(0, 199)}…` : path;
};

export const problemOf = (error: AccountLinkingError, url?: string): Problem => {
  const extras = Object.entries(error.details).filter(([key]) => !RESERVED.has(key));
  const instance = url === undefined ? undefined : instanceOf(url);
  return {
    type: PROBLEM_TYPE_BASE + error.code,
    code: error.code,
    title: TITLES[error.code],
    status: STATUS_OF[error.code],
    // An internal error's message stays in the log.
    ...(error.code === 'internal' ? {} : { detail: error.message }),
    ...(instance ? { instance } : {}),
    ...Object.fromEntries(extras),
    ...(error.errors ? { errors: error.errors } : {}),
  };
};

export const sendProblem = (res: Response, error: AccountLinkingError): void => {
  const problem = problemOf(error, res.req.originalUrl);
  res.status(problem.status).type('application/problem+json').json(problem);
};

interface BodyParserError {
  type?: string;
  status?: number;
}

/**
 * Turns anything thrown into a problem document. Unknown errors are logged with their
 * stack and answered with a bare 500: no internal message ever reaches the caller.
 */
export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (res.headersSent) return;
  if ((error as { code?: unknown }).code === 'EBADCSRFTOKEN') {
    return answer(
      req,
      res,
      new AccountLinkingError('forbidden', 'missing or wrong CSRF token'),
    );
  }
  if (isAccountLinkingError(error)) return answer(req, res, error);
  if (storeUnavailable(error)) {
    req.log.warn({ reason: (error as Error).message }, 'a store is unavailable');
    return answer(
      req,
      res,
      new AccountLinkingError(
        'unavailable',
        'a store of the service is unreachable; try again',
      ),
    );
  }

  const parserError = error as BodyParserError;
  if (parserError.type === 'entity.too.large') {
    return sendProblem(
      res,
      new AccountLinkingError(
        'payload-too-large',
        'the request body is larger than 1 MB',
      ),
    );
  }
  if (parserError.type === 'entity.parse.failed') {
    return sendProblem(
      res,
      new AccountLinkingError('malformed-json', 'the request body is not valid JSON'),
    );
  }
  if (
    parserError.type === 'encoding.unsupported' ||
    parserError.type === 'charset.unsupported'
  ) {
    return sendProblem(
      res,
      new AccountLinkingError('unsupported-media-type', 'send the body as UTF-8 JSON'),
    );
  }
  if (error instanceof URIError) {
    return answer(
      req,
      res,
      new AccountLinkingError('validation-failed', 'the path is not valid', {
        errors: [{ path: 'url', message: 'not a valid percent-encoded UTF-8 path' }],
      }),
    );
  }
  if (parserError.status === 400) {
    return sendProblem(
      res,
      new AccountLinkingError('malformed-json', 'the request body could not be read'),
    );
  }
  const failure = error as Error;
  req.log.error(
    { failure: { name: failure.name, message: failure.message, stack: failure.stack } },
    'unhandled error',
  );
  answer(req, res, new AccountLinkingError('internal', 'internal error'));
};

// The stores' own "cannot reach the server" errors: a 503 the caller may retry, not a 500.
const UNAVAILABLE = new Set([
  'EventStoreUnavailableError',
  'MongoUnavailableError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  // A reply the driver could not read, or documents other than those asked for (FerretDB
  // under heavy load): transient.
  'MongoUnexpectedServerResponseError',
  'MongoIncoherentAnswerError',
]);
const storeUnavailable = (error: unknown): boolean =>
  error instanceof Error && UNAVAILABLE.has(error.name);

/** Browsers on the site's pages get a page; everything else a problem document. */
const answer = (req: Request, res: Response, error: AccountLinkingError): void => {
  const api = req.path.startsWith('/api') || req.path.startsWith('/dev-oauth');
  if (api || req.accepts(['json', 'html']) !== 'html') return sendProblem(res, error);
  const key: MessageKey =
    error.code === 'rate-limited'
      ? 'rate-limited'
      : error.code === 'forbidden'
        ? 'forbidden'
        : error.code === 'not-found'
          ? 'not-found'
          : 'unavailable';
  const message = (MESSAGES[key] as (provider: string) => Message)('');
  res.status(STATUS_OF[error.code]).type('html').send(messagePage(message));
};
