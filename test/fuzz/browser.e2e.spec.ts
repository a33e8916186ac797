import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  cookieBrowser,
  csrfOf,
  textOf,
  type CookieBrowser,
  type Page,
} from '../support/browser.js';
import { apiClient, type ApiClient } from '../support/client.js';
import { signInWith, signInWithPassword } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';
import { expectProblem, refusedBeforeTheService } from './answers.js';
import {
  anyState,
  callbackCase,
  callbackPath,
  forgedState,
  hostileCase,
  mustFail,
  pageCase,
  type CallbackCase,
  type HostileCase,
  type PageCase,
} from './browserCases.js';
import { fuzzProperty } from './fuzzProperty.js';
import { COMBINATION, tally, writeReport } from './fuzzReport.js';

const USER = { username: 'fuzz_browser', password: 'a browser fuzzing password' };
const DISPLAY_CONTROLS = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;

/**
 * Property-based fuzzing of the browser side (fast-check): OAuth callbacks with odd
 * `state`, `code` and `error`, with and without a sign-in started in the session;
 * provider stand-ins answering with hostile profiles, email lists and failures; and the
 * pages and forms, with odd fields, encodings and CSRF tokens. For every request: no 5xx
 * but the documented 502 (the provider refused or answered with something unusable); no
 * user created, nothing appended to the log, unless the flow succeeded; what a hostile
 * profile creates is clean.
 */
describe(`fuzzing the browser side on ${COMBINATION.stores}`, () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let api: ApiClient;
  const figures = tally('browser');
  const head = () => service.services.store.headPosition();

  beforeAll(async () => {
    providers = await startProviderStandIns();
    service = await startTestService({
      ...providers.env,
      AUTH_RATE_LIMIT_PER_MINUTE: '100000',
      API_RATE_LIMIT_PER_MINUTE: '100000',
    });
    providers.registerCallbackOrigin(service.url);
    api = apiClient(service.url, service.services.store);
    const registered = await api.command('register-local-user', USER);
    expect(registered.status).toBe(201);
  });
  afterAll(async () => {
    writeReport(figures.figures());
    await service?.stop();
    await providers?.close();
    if (service) removeDataDir(service);
  });

  const property = <T>(
    name: string,
    share: number,
    cases: () => fc.Arbitrary<T>,
    judge: (name: string, c: T) => Promise<void>,
  ) =>
    // FerretDB on a busy machine takes up to a second for a sign-in: room for three.
    fuzzProperty(
      figures,
      { name, share, msPerCase: 3_000, after: resetProviders },
      cases,
      (c) => judge(name, c),
    );

  const resetProviders = () => {
    for (const key of Object.keys(providers.faults))
      delete providers.faults[key as keyof typeof providers.faults];
    delete providers.hostile.profile;
    delete providers.hostile.emails;
  };

  /** Counts an answer of Node's HTTP parser (a URL over 16 KB), not of the service. */
  const parserRefused = (name: string, page: Page): boolean => {
    const early = refusedBeforeTheService({ ...page, text: page.html });
    if (early) figures.note(name, `${page.status} from the HTTP parser`);
    return early;
  };

  /** A browser as the case wants it: no cookie, a session, or signed in. */
  const browserFor = async (session: PageCase['session']): Promise<CookieBrowser> => {
    const browser = cookieBrowser();
    if (session === 'anonymous') await browser.get(`${service.url}/`);
    if (session === 'signed-in') {
      const page = await signInWithPassword(
        browser,
        service.url,
        USER.username,
        USER.password,
      );
      expect(page.url, `${page.status} ${textOf(page.html).slice(0, 200)}`).toBe(
        `${service.url}/account`,
      );
    }
    return browser;
  };

  // 1. Callbacks nobody started.
  property(
    'callbacks without a sign-in started',
    0.1,
    () =>
      fc.tuple(
        fc.constantFrom<PageCase['session']>('none', 'anonymous'),
        callbackCase(
          fc.constantFrom('github', 'google', 'gitlab', 'GitHub'),
          forgedState,
        ),
      ),
    async (name, [session, c]) => {
      const browser = await browserFor(session);
      const before = await head();
      const page = await browser.get(`${service.url}${callbackPath(c, null)}`);
      figures.answer(name, page.status);
      const seen = `${callbackPath(c, null)} -> ${page.status} ${textOf(page.html).slice(0, 200)}`;
      const known = ['github', 'google'].includes(c.provider);
      // The state is checked first: nothing to match it against, so "start again".
      if (!parserRefused(name, page)) expect(page.status, seen).toBe(known ? 400 : 404);
      expect(await head(), seen).toBe(before);
    },
  );

  // 2. Callbacks of a sign-in this browser started, with odd parameters.
  property(
    'callbacks of a started sign-in with odd state, code and error',
    0.1,
    () => callbackCase(fc.constantFrom('github', 'google'), anyState),
    async (name, c: CallbackCase) => {
      const browser = cookieBrowser();
      const started = await browser.get(`${service.url}/auth/${c.provider}`, {
        follow: false,
      });
      expect(started.status).toBe(302);
      const real = new URL(started.headers.get('location')!).searchParams.get('state');
      expect(real).toEqual(expect.any(String));

      const before = await head();
      const path = callbackPath(c, real);
      const page = await browser.get(`${service.url}${path}`);
      const expected = expectedCallback(path, real!);
      figures.answer(
        name,
        page.status,
        page.status === 502 ? expected.reason : undefined,
      );
      const seen = `${path} -> ${page.status} ${textOf(page.html).slice(0, 200)}`;
      if (!parserRefused(name, page)) expect(page.status, seen).toBe(expected.status);
      expect(await head(), seen).toBe(before);
    },
  );

  /**
   * What the README promises for a callback: the session's own state first (else "start
   * again"), then the provider's error (denied, or failed), then a code to exchange,
   * which the provider refuses (none of these is one it gave). Parameters may repeat.
   */
  const expectedCallback = (
    path: string,
    real: string,
  ): { status: number; reason?: string } => {
    const query = new URL(path, service.url).searchParams;
    const [states, errors, codes] = ['state', 'error', 'code'].map((n) =>
      query.getAll(n),
    );
    if (states!.length !== 1 || states![0] !== real) return { status: 400 };
    if (errors!.length === 1 && errors![0] === 'access_denied') return { status: 403 };
    if (errors!.length > 0)
      return { status: 502, reason: 'provider-failed: the provider sent an error' };
    if (codes!.length !== 1 || codes![0] === '') return { status: 400 };
    return { status: 502, reason: 'provider-failed: the provider refused the code' };
  };

  // 3. Sign-ins where the provider answers with what it should not.
  property(
    'hostile answers of the providers',
    0.12,
    () => hostileCase,
    async (name, c: HostileCase) => {
      resetProviders();
      Object.assign(providers.faults, c.faults, {
        profileOverride: {
          ...c.fields,
          [c.provider === 'github' ? 'id' : 'sub']:
            c.id === 'missing' ? undefined : c.id.value,
        },
      });
      if (c.rawProfile) providers.hostile.profile = c.rawProfile;
      if (c.rawEmails) providers.hostile.emails = c.rawEmails;

      const before = await head();
      const page = await signInWith(cookieBrowser(), service.url, c.provider, {
        id: 'p',
      });
      const fails = mustFail(c);
      figures.answer(
        name,
        page.status,
        page.status === 502 ? 'provider-failed: an unusable provider answer' : undefined,
      );
      const seen = `${page.url} ${page.status} ${textOf(page.html).slice(0, 200)}`;
      if (fails) {
        expect(page.status, seen).toBe(502);
        expect(await head(), seen).toBe(before);
        return;
      }
      // A usable id: signed in (a new user, or the one holding it), or asked to confirm
      // that the email's owner is the person (nothing written until then).
      expect([`${service.url}/account`, `${service.url}/auth/confirm`], seen).toContain(
        page.url,
      );
      if (page.url.endsWith('/auth/confirm')) {
        expect(await head(), seen).toBe(before);
        return;
      }
      const id = c.id === 'missing' ? null : c.id.value;
      await expectCleanUser(c.provider, String(id), seen);
    },
  );

  /** The user behind an identity holds nothing a hostile profile could smuggle in. */
  const expectCleanUser = async (provider: string, subject: string, seen: string) => {
    const identity = await api.get(
      `/api/identities?provider=${provider}&subject=${encodeURIComponent(subject)}`,
    );
    expect(identity.body, seen).toMatchObject({ status: 'linked', subject });
    const user = await api.get<{ displayName: unknown; email: unknown }>(
      `/api/users/${identity.body.userId as string}`,
    );
    const { displayName, email } = user.body;
    if (displayName !== null) {
      expect(typeof displayName, seen).toBe('string');
      expect([...(displayName as string)].length, seen).toBeLessThanOrEqual(200);
      expect(displayName as string, seen).not.toMatch(DISPLAY_CONTROLS);
    }
    if (email !== null) {
      expect(email, seen).toMatch(/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u);
      expect([...(email as string)].length, seen).toBeLessThanOrEqual(320);
    }
  };

  // 4. The pages and forms, with odd fields, encodings, methods and CSRF tokens.
  property(
    'pages and forms',
    0.1,
    () => pageCase([USER.username]),
    async (name, c: PageCase) => {
      const browser = await browserFor(c.session);
      const fields = { ...c.fields };
      if (c.csrf !== 'none' && c.session !== 'none') {
        const form = await browser.get(
          `${service.url}${c.session === 'signed-in' ? '/account' : '/'}`,
        );
        fields._csrf = c.csrf === 'page' ? csrfOf(form.html) : 'forged-token';
      }

      const before = await head();
      const page = await browser.send(`${service.url}${c.path}`, {
        method: c.method,
        raw: rawBody(c, fields),
      });
      figures.answer(name, page.status);
      const text = textOf(page.html);
      const seen = `${c.method} ${c.path} -> ${page.url} ${page.status} ${text.slice(0, 200)}`;

      expect(page.status, seen).toBeLessThan(500);
      parserRefused(name, page);
      if (page.headers.get('content-type')?.startsWith('application/problem+json')) {
        expectProblem({ status: page.status, headers: page.headers, text: page.html });
      }
      // Only a form that says it did something may have written anything.
      if ((await head()) !== before) {
        expect(text, seen).toMatch(SUCCESS[c.path] ?? /(?!)/);
      }
    },
  );

  const rawBody = (c: PageCase, fields: Record<string, unknown>) => {
    if (c.method === 'GET' || c.method === 'HEAD' || c.encoding === 'none')
      return undefined;
    if (c.encoding === 'json')
      return { body: JSON.stringify(fields), contentType: 'application/json' };
    if (c.encoding === 'text')
      return { body: String(fields.extra), contentType: 'text/plain' };
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) form.append(key, String(value));
    return { body: form.toString(), contentType: 'application/x-www-form-urlencoded' };
  };
});

// What the page says when a form did change something.
const SUCCESS: Record<string, RegExp> = {
  '/auth/register': /Your account was created/,
  '/account/password': /Your password is set/,
  '/account/unlink': /was unlinked/,
};
