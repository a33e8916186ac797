import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/client.js';
import { cookieBrowser, csrfOf, textOf } from '../support/browser.js';
import { linkWith, signInWith } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

const person = (id: string) => ({ id, email: `p${id}@example.com`, emailVerified: true });

describe('linking is an explicit, protected action', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let api: ApiClient;
  beforeAll(async () => {
    providers = await startProviderStandIns();
    service = await startTestService(providers.env);
    api = apiClient(service.url, service.services.store);
  });
  afterAll(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });

  it('C02: signing in (not linking) with a new identity while signed in attaches nothing', async () => {
    const browser = cookieBrowser();
    await signInWith(browser, service.url, 'google', person('a1'));
    const a = (await api.get('/api/identities/google/a1')).body.userId as string;
    await signInWith(browser, service.url, 'github', person('88'));
    const github88 = (await api.get('/api/identities/github/88')).body;
    // github:88 became a user of its own (a plain sign-in), not a connection of A.
    expect(github88.status).toBe('linked');
    expect(typeof github88.userId).toBe('string');
    expect(github88.userId).not.toBe(a);
    const userA = await api.get(`/api/users/${a}`);
    expect(
      (userA.body.connections as { provider: string }[]).map((c) => c.provider),
    ).toEqual(['google']);
  });

  it('C11: linking an identity that another user holds is refused with a specific message', async () => {
    await signInWith(cookieBrowser(), service.url, 'github', person('94'));
    const holder = (await api.get('/api/identities/github/94')).body.userId;
    const b = cookieBrowser();
    await signInWith(b, service.url, 'google', person('b1'));
    const page = await linkWith(b, service.url, 'github', person('94'));
    expect(page.status).toBe(409);
    expect(textOf(page.html)).toContain(
      'This GitHub account is already linked to another user',
    );
    expect((await api.get('/api/identities/github/94')).body.userId).toBe(holder);
  });

  it('C12: a GET to the link route, or a POST without the CSRF token, links nothing', async () => {
    const victim = cookieBrowser();
    await signInWith(victim, service.url, 'google', person('v1'));
    const get = await victim.get(`${service.url}/auth/github/link`, { follow: false });
    expect(get.status).toBe(405);
    const noToken = await victim.post(
      `${service.url}/auth/github/link`,
      {},
      { follow: false },
    );
    expect(noToken.status).toBe(403);
    expect(noToken.headers.get('location')).toBeNull();
    const wrongToken = await victim.post(
      `${service.url}/auth/github/link`,
      { _csrf: 'x'.repeat(64) },
      { follow: false },
    );
    expect(wrongToken.status).toBe(403);
    // The real form works: it redirects to the provider with a state.
    const account = await victim.get(`${service.url}/account`);
    const ok = await victim.post(
      `${service.url}/auth/github/link`,
      { _csrf: csrfOf(account.html) },
      { follow: false },
    );
    expect(ok.status).toBe(302);
    expect(ok.headers.get('location')).toContain(
      `${providers.url}/github/login/oauth/authorize`,
    );
  });

  it('refuses to start a link for nobody', async () => {
    const anonymous = cookieBrowser();
    const home = await anonymous.get(`${service.url}/`);
    const page = await anonymous.post(`${service.url}/auth/github/link`, {
      _csrf: csrfOf(home.html),
    });
    expect(page.status).toBe(401);
    expect(textOf(page.html)).toContain('Sign in first');
  });
});
