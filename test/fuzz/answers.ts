import { expect } from 'vitest';

/** An answer as received: status, headers, and the body as text. */
export interface Raw {
  status: number;
  headers: Headers;
  text: string;
}

/** One request, exactly as given; redirects are answers, not followed. */
export const send = async (
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Blob },
): Promise<Raw> => {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

// The README's table of errors ("Errors"): each status with the codes it may carry.
const CODES_OF_STATUS: Record<number, string[]> = {
  400: ['malformed-json'],
  401: ['unauthorized'],
  403: ['forbidden'],
  404: ['unknown-command', 'not-found', 'user-not-found', 'identity-not-found'],
  405: ['method-not-allowed'],
  409: [
    'identity-already-linked',
    'provider-already-linked',
    'identity-not-linked',
    'last-sign-in-method',
    'user-merged',
    'user-erased',
    'email-belongs-to-existing-user',
    'username-taken',
    'reauthentication-required',
  ],
  412: ['revision-mismatch'],
  413: ['payload-too-large'],
  415: ['unsupported-media-type'],
  422: ['validation-failed', 'idempotency-key-reused'],
  429: ['rate-limited'],
  500: ['internal'],
  503: ['projection-lagging', 'unavailable'],
};

const PROBLEM_TYPE = 'https://account-links.dev/problems/';

/**
 * An error answer of the API: `application/problem+json` with the documented fields, a
 * code the README lists for that status, and nothing of the service's insides.
 */
export const expectProblem = (reply: Raw): { code: string } => {
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
  const problem = JSON.parse(reply.text) as Record<string, unknown>;
  expect(problem).toMatchObject({
    type: `${PROBLEM_TYPE}${String(problem.code)}`,
    code: expect.any(String),
    title: expect.any(String),
    status: reply.status,
  });
  expect(CODES_OF_STATUS[reply.status] ?? []).toContain(problem.code);
  if (problem.code === 'validation-failed') {
    expect(problem.errors).toEqual(
      expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]),
    );
  }
  expect(problem).not.toHaveProperty('stack');
  expect(reply.text).not.toMatch(/\bat .+\.(?:ts|js):\d+|node_modules|Error: /);
  return problem as { code: string };
};

/**
 * An answer of Node's HTTP parser, which refuses some requests before the service sees
 * them (headers over 16 KB: 431; a malformed request line: 400): no body, and none of the
 * headers the service puts on every answer.
 */
export const refusedBeforeTheService = (reply: Raw): boolean =>
  reply.status >= 400 &&
  reply.status < 500 &&
  reply.text === '' &&
  reply.headers.get('x-request-id') === null;

/** The problem's code, or null for an answer that is no problem document. */
export const codeOf = (reply: Raw): string | null => {
  try {
    return (JSON.parse(reply.text) as { code?: string }).code ?? null;
  } catch {
    return null;
  }
};
