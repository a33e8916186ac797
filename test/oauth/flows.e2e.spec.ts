import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/client.js';
import { cookieBrowser, textOf, type CookieBrowser } from '../support/browser.js';
import {
  linkWith,
  postFromAccount,
  signInWith,
  signInWithPassword,
  signOut,
  startSignIn,
} from '../support/flows.js';
import {
  consent,
  startProviderStandIns,
  type ProviderStandIns,
} from '../support/providers.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

// Every person has an email of their own: a shared verified email would (rightly) ask
// for confirmation instead of creating a user.
const gh = (id: string) => ({
  id,
  login: `octo${id}`,
  name: `Octo ${id}`,
  email: `octo${id}@example.com`,
  emailVerified: true,
});
const gg = (id: string) => ({
  id,
  name: `Ann ${id}`,
  email: `ann${id}@example.com`,
  emailVerified: true,
});

describe('OAuth flows through Passport, against GitHub and Google stand-ins', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let browser: CookieBrowser;
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
  beforeEach(() => {
    browser = cookieBrowser();
  });
  afterEach(() => {
    for (const key of Object.keys(providers.faults))
      delete providers.faults[key as keyof typeof providers.faults];
  });

  const identity = async (provider: string, subject: string) =>
    (await api.get(`/api/identities/${provider}/${subject}`)).body;

  it('creates a user on a first GitHub sign-in, with a session cookie that is HttpOnly and SameSite=Lax', async () => {
    const atProvider = await startSignIn(browser, service.url, 'github');
    expect(new URL(atProvider.trail[1]!).searchParams.get('state')).toMatch(
      /^[\w-]{16,}$/,
    );
    const [cookie] = await browser.cookies(service.url);
    expect(cookie).toMatchObject({
      key: 'account_links.sid',
      httpOnly: true,
      sameSite: 'lax',
    });

    const page = await consent(browser, atProvider, 'github', gh('1001'));
    expect(page.url).toBe(`${service.url}/account`);
    expect(textOf(page.html)).toContain('Your account was created with GitHub');
    expect(await identity('github', '1001')).toMatchObject({ status: 'linked' });
  });

  it('signs a known identity in as its user, and creates nothing', async () => {
    await signInWith(browser, service.url, 'github', gh('1002'));
    const userId = (await identity('github', '1002')).userId;
    await signOut(browser, service.url);
    const again = await signInWith(browser, service.url, 'github', gh('1002'));
    expect(textOf(again.html)).not.toContain('created');
    expect((await identity('github', '1002')).userId).toBe(userId);
  });

  it('links Google from the account page, then unlinks GitHub, and Google still signs in', async () => {
    await signInWith(browser, service.url, 'github', gh('1003'));
    const userId = (await identity('github', '1003')).userId as string;
    const linked = await linkWith(browser, service.url, 'google', gg('g-1003'));
    expect(textOf(linked.html)).toContain('Google is now connected');
    expect(await identity('google', 'g-1003')).toMatchObject({ userId });

    const unlinked = await postFromAccount(browser, service.url, '/account/unlink', {
      provider: 'github',
      subject: '1003',
    });
    expect(textOf(unlinked.html)).toContain('GitHub was unlinked');
    expect(await identity('github', '1003')).toMatchObject({ status: 'released' });

    await signOut(browser, service.url);
    const back = await signInWith(browser, service.url, 'google', gg('g-1003'));
    expect(back.url).toBe(`${service.url}/account`);
    expect((await identity('google', 'g-1003')).userId).toBe(userId);
  });

  it('keeps a GitHub numeric id and Google sub as strings', async () => {
    providers.faults.githubIdAsString = false;
    await signInWith(browser, service.url, 'github', gh('77001'));
    expect(await identity('github', '77001')).toMatchObject({ subject: '77001' });
    providers.faults.profileOverride = { sub: 424242 };
    await signInWith(cookieBrowser(), service.url, 'google', gg('ignored'));
    expect(await identity('google', '424242')).toMatchObject({
      subject: '424242',
      status: 'linked',
    });
  });

  it('explains the last-method guard on the account page and refuses the unlink', async () => {
    await signInWith(browser, service.url, 'github', gh('1004'));
    const account = await browser.get(`${service.url}/account`);
    expect(textOf(account.html)).toContain('This is your only way to sign in');
    expect(account.html).not.toContain('Unlink GitHub');
    const refused = await postFromAccount(browser, service.url, '/account/unlink', {
      provider: 'github',
      subject: '1004',
    });
    expect(textOf(refused.html)).toContain('That is your only way to sign in');
    expect(await identity('github', '1004')).toMatchObject({ status: 'linked' });
  });

  it('sets a password (with a username) so GitHub can be unlinked, then signs in with it', async () => {
    await signInWith(browser, service.url, 'github', gh('1005'));
    const userId = (await identity('github', '1005')).userId;
    const set = await postFromAccount(browser, service.url, '/account/password', {
      username: 'octo1005',
      password: 'correct horse battery',
    });
    expect(textOf(set.html)).toContain('Your password is set');
    await postFromAccount(browser, service.url, '/account/unlink', {
      provider: 'github',
      subject: '1005',
    });
    await signOut(browser, service.url);
    const page = await signInWithPassword(
      browser,
      service.url,
      'octo1005',
      'correct horse battery',
    );
    expect(page.url).toBe(`${service.url}/account`);
    const wrong = await signInWithPassword(
      cookieBrowser(),
      service.url,
      'octo1005',
      'nope nope nope',
    );
    expect(textOf(wrong.html)).toContain('The username or password is not right');
    const user = await api.get(`/api/users/${userId}`);
    expect(user.body).toMatchObject({
      hasPassword: true,
      username: 'octo1005',
      connections: [],
    });
  });

  it('creates a password account from the sign-in page', async () => {
    const home = await browser.get(`${service.url}/`);
    const { csrfOf } = await import('../support/browser.js');
    const page = await browser.post(`${service.url}/auth/register`, {
      _csrf: csrfOf(home.html),
      username: 'newbie',
      password: 'correct horse battery',
    });
    expect(page.url).toBe(`${service.url}/account`);
    expect(textOf(page.html)).toContain('Your account was created');
  });

  describe('failures', () => {
    it('shows "access was denied" when the person refuses at the provider, creating nothing', async () => {
      const page = await signInWith(browser, service.url, 'github', 'deny');
      expect(page.status).toBe(403);
      expect(textOf(page.html)).toContain('Access was denied at GitHub');
    });

    it('fails cleanly when the token step fails (400 and GitHub-style 200 with an error)', async () => {
      for (const fault of ['http-400', 'error-in-200', 'http-500', 'not-json'] as const) {
        providers.faults.token = fault;
        const page = await signInWith(cookieBrowser(), service.url, 'github', gh('1010'));
        expect(page.status).toBe(502);
        expect(textOf(page.html)).toContain('GitHub did not answer as expected');
      }
      delete providers.faults.token;
      expect((await api.get('/api/identities/github/1010')).status).toBe(404);
    });

    it('fails cleanly when the profile step fails, for both providers', async () => {
      for (const fault of ['http-401', 'http-500', 'not-json'] as const) {
        providers.faults.profile = fault;
        const github = await signInWith(
          cookieBrowser(),
          service.url,
          'github',
          gh('1011'),
        );
        expect(github.status).toBe(502);
        const google = await signInWith(
          cookieBrowser(),
          service.url,
          'google',
          gg('g-1011'),
        );
        expect(google.status).toBe(502);
        expect(textOf(google.html)).toContain('Google did not answer as expected');
      }
      delete providers.faults.profile;
      expect((await api.get('/api/identities/github/1011')).status).toBe(404);
      expect((await api.get('/api/identities/google/g-1011')).status).toBe(404);
    });

    it('refuses a forged state without a 5xx, and creates nothing', async () => {
      const atProvider = await startSignIn(browser, service.url, 'github');
      const request = new URL(atProvider.url);
      const redirect = request.searchParams.get('redirect_uri')!;
      const page = await browser.get(
        `${redirect}?code=whatever&state=forged-state-value`,
      );
      expect(page.status).toBe(400);
      expect(textOf(page.html)).toContain('The sign-in expired, start again');
    });

    it('refuses a replayed callback', async () => {
      const atProvider = await startSignIn(browser, service.url, 'github');
      const done = await consent(browser, atProvider, 'github', gh('1012'));
      const callback = done.trail.find((url) => url.includes('/auth/github/callback'))!;
      const replay = await cookieBrowser().get(callback);
      expect(replay.status).toBe(400);
      expect(textOf(replay.html)).toContain('The sign-in expired, start again');
      // The same browser repeating it (a reload, a double click) ends where it did.
      const sameBrowser = await browser.get(callback);
      expect(sameBrowser.url).toBe(`${service.url}/account`);
    });
  });

  it('records the flow and the identity as actor in the audit history', async () => {
    await signInWith(browser, service.url, 'github', gh('1020'));
    const userId = (await identity('github', '1020')).userId;
    const audit = await api.get<{
      events: { type: string; metadata: { actor: string; flow: string } }[];
    }>(`/api/audit/users/${userId}/events`, { token: AUDITOR });
    expect(audit.body.events[0]!.metadata).toMatchObject({
      actor: 'github:1020',
      flow: 'sign-in',
    });
  });
});
