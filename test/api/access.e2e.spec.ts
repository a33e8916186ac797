import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieBrowser, type CookieBrowser } from '../support/browser.js';
import { apiClient } from '../support/client.js';
import { signInWithPassword } from '../support/flows.js';
import {
  AUDITOR,
  READER,
  TOKEN,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

const VAULT = 'vault-secret-0123456789abcdef';
type Scope = 'commands' | 'queries' | 'audit' | 'tokens';

/** A service token of each kind, and the scopes it carries (SERVICE_TOKENS below). */
const TOKENS: { secret: string; scopes: Scope[] }[] = [
  { secret: TOKEN, scopes: ['commands', 'queries', 'audit'] },
  { secret: READER, scopes: ['queries'] },
  { secret: AUDITOR, scopes: ['audit'] },
  { secret: VAULT, scopes: ['tokens'] },
];

interface Route {
  method: 'GET' | 'POST';
  path: (own: string) => string;
  body?: (own: string) => Record<string, unknown>;
  scope: Scope;
  /** A browser session may call it for its own user (README, "From a signed-in browser"). */
  ownSession?: boolean;
  /** The body tokens send, where the session's would end the session (erasure). */
  tokenBody?: () => Record<string, unknown>;
}

const command = (
  name: string,
  body: (own: string) => Record<string, unknown>,
  ownSession = false,
): Route => ({
  method: 'POST',
  path: () => `/api/commands/${name}`,
  body,
  scope: 'commands',
  ownSession,
});

/** Every API route, with what it needs. */
const ROUTES: Route[] = [
  command('register-local-user', () => ({
    username: `u${randomUUID().slice(0, 8)}`,
    password: 'correct horse battery',
  })),
  command('register-via-provider', () => ({ provider: 'github', subject: randomUUID() })),
  command('link-provider', (own) => ({ userId: own, provider: 'google', subject: 'x' })),
  // The subject is not the user's: access passes, the command itself is refused (404/409).
  command(
    'unlink-provider',
    (own) => ({ userId: own, provider: 'github', subject: 'not-held' }),
    true,
  ),
  command('merge-users', (own) => ({ survivorId: own, mergedId: randomUUID() })),
  {
    method: 'GET',
    path: (own) => `/api/users/${own}`,
    scope: 'queries',
    ownSession: true,
  },
  { method: 'GET', path: () => '/api/users?email=a@example.com', scope: 'queries' },
  { method: 'GET', path: () => '/api/identities/github/1', scope: 'queries' },
  {
    method: 'GET',
    path: () => '/api/identities?provider=github&subject=1',
    scope: 'queries',
  },
  {
    method: 'GET',
    path: (own) => `/api/audit/users/${own}/events`,
    scope: 'audit',
    ownSession: true,
  },
  {
    method: 'GET',
    path: (own) => `/api/audit/users/${own}/state?at=2030-01-01T00:00:00Z`,
    scope: 'audit',
    ownSession: true,
  },
  { method: 'GET', path: () => '/api/audit/identities/github/1', scope: 'audit' },
  {
    method: 'GET',
    path: () => '/api/audit/identities?provider=github&subject=1',
    scope: 'audit',
  },
  { method: 'GET', path: () => '/api/audit/verify', scope: 'audit' },
  { method: 'GET', path: () => '/api/audit/export', scope: 'audit' },
  {
    method: 'GET',
    path: (own) => `/api/users/${own}/connections/github/token`,
    scope: 'tokens',
  },
  // Last: it ends the session that runs it. Tokens erase somebody unknown (404).
  {
    ...command('erase-user', (own) => ({ userId: own }), true),
    tokenBody: () => ({ userId: randomUUID() }),
  },
];

type CallerKind =
  | 'no credentials'
  | 'wrong token'
  | 'token without the scope'
  | 'token with the scope'
  | "another user's session"
  | 'own session without CSRF token'
  | 'own session';

const CALLERS: CallerKind[] = [
  'no credentials',
  'wrong token',
  'token without the scope',
  'token with the scope',
  "another user's session",
  'own session without CSRF token',
  'own session',
];

/** What the README documents: who may pass each route. */
const mayPass = (route: Route, caller: CallerKind): boolean =>
  caller === 'token with the scope' || (caller === 'own session' && !!route.ownSession);

describe('access to every API route by every kind of caller', () => {
  let service: TestService;
  let own: { userId: string; browser: CookieBrowser; csrf: string };
  let other: { userId: string; browser: CookieBrowser; csrf: string };

  const signedIn = async (username: string) => {
    const api = apiClient(service.url);
    const reply = await api.command('register-local-user', {
      username,
      password: 'correct horse battery',
    });
    expect(reply.status).toBe(201);
    const browser = cookieBrowser();
    await signInWithPassword(browser, service.url, username, 'correct horse battery');
    const session = JSON.parse(
      (await browser.get(`${service.url}/auth/session`)).html,
    ) as {
      userId: string;
      csrfToken: string;
    };
    expect(session.userId).toBe(reply.body.userId);
    return { userId: session.userId, browser, csrf: session.csrfToken };
  };

  beforeAll(async () => {
    service = await startTestService({
      SERVICE_TOKENS: `tester=${TOKEN},reader:queries=${READER},auditor:audit=${AUDITOR},vault:tokens=${VAULT}`,
    });
    own = await signedIn('owner');
    other = await signedIn('someone-else');
  });
  afterAll(async () => {
    await service.stop();
    removeDataDir(service);
  });

  const cookieOf = async (browser: CookieBrowser) =>
    (await browser.cookies(service.url)).map((c) => c.cookieString()).join('; ');

  const call = async (route: Route, caller: CallerKind): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const lacking = TOKENS.find((t) => !t.scopes.includes(route.scope))!;
    const holding = TOKENS.find((t) => t.scopes.includes(route.scope))!;
    if (caller === 'wrong token') headers.authorization = `Bearer ${TOKEN}-wrong`;
    if (caller === 'token without the scope')
      headers.authorization = `Bearer ${lacking.secret}`;
    if (caller === 'token with the scope')
      headers.authorization = `Bearer ${holding.secret}`;
    if (caller === "another user's session") {
      headers.cookie = await cookieOf(other.browser);
      headers['x-csrf-token'] = other.csrf;
    }
    if (caller === 'own session without CSRF token')
      headers.cookie = await cookieOf(own.browser);
    if (caller === 'own session') {
      headers.cookie = await cookieOf(own.browser);
      headers['x-csrf-token'] = own.csrf;
    }
    const byToken = headers.authorization !== undefined;
    const payload =
      byToken && route.tokenBody ? route.tokenBody() : route.body?.(own.userId);
    const body = payload ? JSON.stringify(payload) : undefined;
    if (body) headers['content-type'] = 'application/json';
    return fetch(`${service.url}${route.path(own.userId)}`, {
      method: route.method,
      headers,
      body,
    });
  };

  for (const route of ROUTES) {
    const name = `${route.method} ${route.path(':own')}`;
    it(name, async () => {
      for (const caller of CALLERS) {
        // A session without CSRF token reads: only writes need the token.
        const expectPass =
          mayPass(route, caller) ||
          (caller === 'own session without CSRF token' &&
            !!route.ownSession &&
            route.method === 'GET');
        const res = await call(route, caller);
        const text = await res.text();
        const outcome = `${caller}: ${res.status} ${text.slice(0, 160)}`;
        if (expectPass) {
          expect([401, 403], outcome).not.toContain(res.status);
          expect(res.status, outcome).toBeLessThan(500);
        } else {
          const expected =
            caller === 'no credentials' || caller === 'wrong token' ? 401 : 403;
          expect(res.status, outcome).toBe(expected);
          expect(res.headers.get('content-type'), outcome).toContain(
            'application/problem+json',
          );
        }
      }
    });
  }

  it('changed nothing through refused calls: the own user is erased only by its own session', async () => {
    // Read after everything written so far (the MongoDB read model follows the log).
    const api = apiClient(service.url, service.services.store);
    const owner = await api.get(`/api/users/${own.userId}`);
    expect(owner.body).toMatchObject({ status: 'erased' });
    const bystander = await api.get(`/api/users/${other.userId}`);
    expect(bystander.body).toMatchObject({ status: 'active', hasPassword: true });
  });
});
