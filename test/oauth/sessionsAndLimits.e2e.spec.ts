import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { cookieBrowser, csrfOf, textOf } from '../support/browser.js';
import { signInWith } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';
import type { SignInDecider } from '../../src/application/signIn.js';

describe('sessions, the API from a browser, overrides and limits', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  afterEach(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });
  const start = async (
    env: Record<string, string> = {},
    decideSignIn?: SignInDecider,
  ) => {
    providers = await startProviderStandIns();
    service = await startTestService({ ...providers.env, ...env }, { decideSignIn });
    return apiClient(service.url, service.services.store);
  };

  /** A fetch that carries the browser's cookies, for API calls from "the page". */
  const fromPage = async (
    browser: ReturnType<typeof cookieBrowser>,
    path: string,
    init: { method?: string; body?: unknown; csrf?: string } = {},
  ) => {
    const cookie = (await browser.cookies(service.url))
      .map((c) => c.cookieString())
      .join('; ');
    const res = await fetch(`${service.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        cookie,
        'content-type': 'application/json',
        ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('a signed-in session reads and changes its own user only, with the CSRF token', async () => {
    const api = await start();
    const browser = cookieBrowser();
    await signInWith(browser, service.url, 'github', {
      id: '1',
      email: 'a@example.com',
      emailVerified: true,
    });
    const own = (await api.get('/api/identities/github/1')).body.userId as string;
    const other = (
      await api.command('register-via-provider', { provider: 'google', subject: 'x' })
    ).body.userId;

    expect((await fromPage(browser, `/api/users/${own}`)).status).toBe(200);
    expect((await fromPage(browser, `/api/users/${other}`)).status).toBe(403);
    expect((await fromPage(browser, '/api/identities/github/1')).status).toBe(403);

    const account = await browser.get(`${service.url}/account`);
    const csrf = csrfOf(account.html);
    await api.command('link-provider', {
      userId: own,
      provider: 'google',
      subject: 'g-own',
    });
    const body = { userId: own, provider: 'google', subject: 'g-own' };
    expect(
      (await fromPage(browser, '/api/commands/unlink-provider', { method: 'POST', body }))
        .status,
    ).toBe(403);
    const unlinked = await fromPage(browser, '/api/commands/unlink-provider', {
      method: 'POST',
      body,
      csrf,
    });
    expect(unlinked.status).toBe(200);
    // Linking over the API needs proof of the identity: a session may not do it.
    const link = await fromPage(browser, '/api/commands/link-provider', {
      method: 'POST',
      body: { userId: own, provider: 'google', subject: 'someone-elses' },
      csrf,
    });
    expect(link.status).toBe(403);
    const erase = await fromPage(browser, '/api/commands/erase-user', {
      method: 'POST',
      body: { userId: other },
      csrf,
    });
    expect(erase.status).toBe(403);
  });

  it("applies the embedding program's own decision, and keeps the token unless it rejects", async () => {
    const decisions: string[] = [];
    const decide: SignInDecider = (context) => {
      decisions.push(`${context.identity.provider}:${context.identity.subject}`);
      return context.identity.subject === 'blocked'
        ? { kind: 'reject', reason: 'rejected-by-policy' }
        : { kind: 'create' };
    };
    const api = await start({}, decide);
    const created = await signInWith(cookieBrowser(), service.url, 'github', {
      id: 'welcome',
    });
    expect(created.url).toBe(`${service.url}/account`);
    const refused = await signInWith(cookieBrowser(), service.url, 'github', {
      id: 'blocked',
    });
    expect(refused.status).toBe(409);
    expect(decisions).toEqual(['github:welcome', 'github:blocked']);
    expect((await api.get('/api/identities/github/blocked')).status).toBe(404);
  });

  it('answers too many sign-in attempts with 429, and the rest of the service stays up', async () => {
    await start({ AUTH_RATE_LIMIT_PER_MINUTE: '3' });
    const browser = cookieBrowser();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      statuses.push(
        (await browser.get(`${service.url}/auth/github`, { follow: false })).status,
      );
    }
    expect(statuses).toEqual([302, 302, 302, 429, 429]);
    const limited = await browser.get(`${service.url}/auth/github`, { follow: false });
    expect(textOf(limited.html)).toContain('Too many attempts');
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });

  it('marks the session cookie Secure behind a TLS proxy', async () => {
    await start({ TRUST_PROXY: 'true' });
    const res = await fetch(`${service.url}/auth/github`, {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/i);
    const plain = await fetch(`${service.url}/auth/github`, { redirect: 'manual' });
    expect(plain.headers.get('set-cookie')).not.toMatch(/; Secure/i);
  });

  it('refuses hostile profiles cleanly, creating nothing', async () => {
    const api = await start();
    const hostile: Record<string, unknown>[] = [
      { id: undefined },
      { id: null },
      { id: 'a\u0000b' },
      { id: 'x'.repeat(300) },
      { id: { nested: true } },
      { id: -5 },
    ];
    for (const profileOverride of hostile) {
      providers.faults.profileOverride = profileOverride;
      const page = await signInWith(cookieBrowser(), service.url, 'github', {
        id: '31337',
      });
      expect(page.status).toBe(502);
    }
    // A profile over 1 MB (cut off as it arrives, not held whole).
    providers.faults.profileOverride = { name: 'n'.repeat(1_100_000) };
    const huge = await signInWith(cookieBrowser(), service.url, 'github', {
      id: '31339',
    });
    expect(huge.status).toBe(502);
    expect(huge.html).toContain('GitHub');
    expect(await service.services.store.readStream('identity-github-MzEzMzk')).toEqual(
      [],
    );
    providers.faults.profileOverride = { name: 'n'.repeat(5000), email: 'not an email' };
    const page = await signInWith(cookieBrowser(), service.url, 'github', {
      id: '31338',
    });
    expect(page.url).toBe(`${service.url}/account`);
    const { userId } = (await api.get('/api/identities/github/31338')).body;
    const user = await api.get(`/api/users/${userId as string}`);
    expect((user.body.displayName as string).length).toBe(200);
    expect(await service.services.store.readStream('identity-github-MzEzMzc')).toEqual(
      [],
    );
  });
});
