import { afterEach, describe, expect, it, vi } from 'vitest';
import { sweepTokens } from '../../src/application/tokenSweep.js';
import { apiClient } from '../support/client.js';
import { cookieBrowser, csrfOf, textOf } from '../support/browser.js';
import {
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
  removeDataDir,
  startTestService,
  TOKEN,
  type TestService,
} from '../support/service.js';

const VAULT = `${TOKEN}-vault`;

describe('the browser side under misuse', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  afterEach(async () => {
    vi.useRealTimers();
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });
  const start = async (env: Record<string, string> = {}) => {
    providers = await startProviderStandIns();
    service = await startTestService({
      ...providers.env,
      SERVICE_TOKENS: `tester=${TOKEN},vault:tokens=${VAULT}`,
      ...env,
    });
    providers.registerCallbackOrigin(service.url);
    return apiClient(service.url, service.services.store);
  };

  describe('forms validate like the API', () => {
    it('refuses a weak password or an odd username at sign-up, creating nothing', async () => {
      await start();
      const browser = cookieBrowser();
      const attempts: Record<string, string>[] = [
        { username: 'fine-name', password: '' },
        { username: 'fine-name', password: 'short' },
        { username: '<i>\u0007', password: 'correct horse battery' },
        { username: 'x'.repeat(65), password: 'correct horse battery' },
        {
          username: 'fine-name',
          password: 'correct horse battery',
          email: 'not an email',
        },
      ];
      for (const fields of attempts) {
        const home = await browser.get(`${service.url}/`);
        const page = await browser.post(`${service.url}/auth/register`, {
          _csrf: csrfOf(home.html),
          ...fields,
        });
        expect(page.url).toBe(`${service.url}/`);
        expect(textOf(page.html)).toContain('Some fields are not valid');
      }
      expect(await service.services.store.headPosition()).toBeNull();
    });

    it('never lets an empty password become the last way in (the lockout that was)', async () => {
      await start();
      const browser = cookieBrowser();
      await signInWith(browser, service.url, 'github', { id: '5555' });
      const refused = await postFromAccount(browser, service.url, '/account/password', {
        username: 'fiveuser',
        password: '',
      });
      expect(textOf(refused.html)).toContain('Some fields are not valid');
      const account = await browser.get(`${service.url}/account`);
      expect(account.html).not.toContain('Unlink GitHub');
    });

    it('asks for the current password to change one', async () => {
      await start();
      const browser = cookieBrowser();
      await signInWith(browser, service.url, 'github', { id: '6666' });
      await postFromAccount(browser, service.url, '/account/password', {
        username: 'sixuser',
        password: 'correct horse battery',
      });
      const wrong = await postFromAccount(browser, service.url, '/account/password', {
        currentPassword: 'not the password',
        password: 'another good password',
      });
      expect(textOf(wrong.html)).toContain('the current password is not right');
      const right = await postFromAccount(browser, service.url, '/account/password', {
        currentPassword: 'correct horse battery',
        password: 'another good password',
      });
      expect(textOf(right.html)).toContain('Your password is set');
      await signOut(browser, service.url);
      const page = await signInWithPassword(
        browser,
        service.url,
        'sixuser',
        'another good password',
      );
      expect(page.url).toBe(`${service.url}/account`);
    });
  });

  describe('callbacks', () => {
    it('checks the state before anything else the callback says', async () => {
      await start();
      const browser = cookieBrowser();
      await browser.get(`${service.url}/`);
      for (const query of [
        'error=server_error&state=never-issued',
        'error=invalid_scope&state=never-issued',
        'error=access_denied&state=forged',
        'state=forged',
        '',
      ]) {
        const page = await browser.get(`${service.url}/auth/google/callback?${query}`);
        expect(page.status, query).toBe(400);
        expect(textOf(page.html)).toContain('The sign-in expired, start again');
      }
    });

    it("reports the provider's error for a flow this browser started", async () => {
      await start();
      const browser = cookieBrowser();
      const atProvider = await startSignIn(browser, service.url, 'google');
      const state = new URL(atProvider.url).searchParams.get('state')!;
      const page = await browser.get(
        `${service.url}/auth/google/callback?error=server_error&state=${state}`,
      );
      expect(page.status).toBe(502);
      expect(textOf(page.html)).toContain('Google did not answer as expected');
    });

    it('ends a flow that took longer than ten minutes', async () => {
      await start();
      const browser = cookieBrowser();
      const atProvider = await startSignIn(browser, service.url, 'github');
      const toCallback = await consent(
        { ...browser, post: (url, form) => browser.post(url, form, { follow: false }) },
        atProvider,
        'github',
        { id: '7777' },
      );
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11 * 60 * 1000 });
      const page = await browser.get(
        new URL(toCallback.headers.get('location')!, service.url).toString(),
      );
      expect(page.status).toBe(400);
      expect(textOf(page.html)).toContain('The sign-in expired');
    });

    it('ends a double-submitted callback where the first one ended', async () => {
      await start();
      const browser = cookieBrowser();
      const atProvider = await startSignIn(browser, service.url, 'github');
      const toCallback = await consent(
        // Stop at the callback URL instead of following it.
        { ...browser, post: (url, form) => browser.post(url, form, { follow: false }) },
        atProvider,
        'github',
        { id: '8888' },
      );
      const callback = new URL(
        toCallback.headers.get('location')!,
        service.url,
      ).toString();
      const [first, second] = await Promise.all([
        browser.get(callback),
        browser.get(callback),
      ]);
      expect(first.url).toBe(`${service.url}/account`);
      expect(second.url).toBe(`${service.url}/account`);
    });

    it('sends the callback registered with PUBLIC_URL, whatever the Host header says', async () => {
      await start({ PUBLIC_URL: 'https://accounts.example.com' });
      const res = await fetch(`${service.url}/auth/github`, {
        redirect: 'manual',
        headers: { host: 'evil.example' },
      });
      const redirect = new URL(res.headers.get('location')!).searchParams.get(
        'redirect_uri',
      );
      expect(redirect).toBe('https://accounts.example.com/auth/github/callback');
    });

    it('is refused by the provider stand-in when the redirect URI is not registered', async () => {
      await start();
      const res = await fetch(
        `${providers.url}/github/login/oauth/authorize?client_id=test-github-client&redirect_uri=${encodeURIComponent('http://evil.example/auth/github/callback')}&state=x`,
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('redirect_uri is not registered');
    });
  });

  describe('tokens and sessions', () => {
    it('removes tokens with the connection at once on unlink and erase, and orphaned ones by the sweep', async () => {
      const api = await start();
      const browser = cookieBrowser();
      await signInWith(browser, service.url, 'github', { id: '9001' });
      const userId = (await api.get('/api/identities/github/9001')).body.userId as string;
      const token = (path: string) => api.get(path, { token: VAULT });
      await postFromAccount(browser, service.url, '/account/password', {
        username: 'ninety',
        password: 'correct horse battery',
      });
      await postFromAccount(browser, service.url, '/account/unlink', {
        provider: 'github',
        subject: '9001',
      });
      expect(
        (await token(`/api/users/${userId}/connections/github/token?subject=9001`))
          .status,
      ).toBe(404);
      const vaultRows = async () => (await tokensIn(service)).length;
      expect(await vaultRows()).toBe(0);

      await signInWith(cookieBrowser(), service.url, 'google', { id: 'g9002' });
      const other = (await api.get('/api/identities/google/g9002')).body.userId as string;
      expect(await vaultRows()).toBe(1);
      const erase = await api.command('erase-user', { userId: other });
      expect(erase.status).toBe(200);
      expect(await vaultRows()).toBe(0);

      // Tokens of an identity nobody holds (a pending link never confirmed, a removal
      // cut short by a crash) are swept once they are old enough, and not before.
      await vaultOf(service).put(
        { provider: 'github', subject: 'orphan-9003' },
        { accessToken: 'gho_orphan', refreshToken: null, scopes: [], expiresAt: null },
      );
      const sweep = (hours: number) =>
        sweepTokens({
          vault: vaultOf(service),
          readModel: service.services.readModel,
          now: () => new Date(Date.now() + hours * 60 * 60 * 1000),
        });
      expect(await sweep(0)).toBe(0);
      expect(await vaultRows()).toBe(1);
      expect(await sweep(1)).toBe(1);
      expect(await vaultRows()).toBe(0);
    });

    it('sends a signed-in browser from the sign-in page to its account', async () => {
      await start();
      const browser = cookieBrowser();
      await signInWith(browser, service.url, 'github', { id: '9100' });
      const home = await browser.get(`${service.url}/`);
      expect(home.url).toBe(`${service.url}/account`);
    });

    it('strips control and direction-override characters from names it shows', async () => {
      const api = await start();
      await signInWith(cookieBrowser(), service.url, 'github', {
        id: '9200',
        name: 'Ctl\u0007\u001b[31m\u202eRed',
      });
      const { userId } = (await api.get('/api/identities/github/9200')).body;
      const user = await api.get(`/api/users/${userId as string}`);
      expect(user.body.displayName).toBe('Ctl[31mRed');
    });

    it('answers a consent post without a body with a page, not a crash', async () => {
      await start();
      const res = await fetch(`${providers.url}/github/consent`, { method: 'POST' });
      expect(res.status).toBe(400);
    });
  });
});

/** The vault of a running test service (its storage is internal to the service). */
const vaultOf = (service: TestService) => service.vault;
const tokensIn = async (service: TestService) => service.vault.entries();
