/**
 * The stable error codes of the HTTP contract. Callers switch on `code`; the HTTP layer
 * maps each code to a status in one table (src/http/problems.ts).
 */
export const ERROR_CODES = [
  'malformed-json',
  'unsupported-media-type',
  'unauthorized',
  'forbidden',
  'unknown-command',
  'not-found',
  'user-not-found',
  'identity-not-found',
  'method-not-allowed',
  'identity-already-linked',
  'provider-already-linked',
  'identity-not-linked',
  'last-sign-in-method',
  'user-merged',
  'user-erased',
  'email-belongs-to-existing-user',
  'username-taken',
  'reauthentication-required',
  'revision-mismatch',
  'payload-too-large',
  'validation-failed',
  'idempotency-key-reused',
  'rate-limited',
  'projection-lagging',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldError {
  path: string;
  message: string;
}

/**
 * The one error type of the service. `details` holds extra fields that are safe to show the
 * caller (ids, never secrets or other people's personal data).
 */
export class AccountLinkingError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly errors: FieldError[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; errors?: FieldError[] } = {},
  ) {
    super(message);
    this.name = 'AccountLinkingError';
    this.code = code;
    this.details = options.details ?? {};
    this.errors = options.errors;
  }
}

export const fail = (
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): never => {
  throw new AccountLinkingError(code, message, details ? { details } : {});
};

export const isAccountLinkingError = (error: unknown): error is AccountLinkingError =>
  error instanceof AccountLinkingError;
