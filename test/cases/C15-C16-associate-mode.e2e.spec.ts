import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { cookieBrowser, textOf } from '../support/browser.js';
import { linkWith, signInWith, signInWithPassword } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import {
  removeDataDir,
  startTestService,
  TOKEN,
  type TestService,
} from '../support/service.js';

describe('LINK_MODE=associate', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  afterEach(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });
  const start = async (userRequired: boolean) => {
    providers = await startProviderStandIns();
    service = await startTestService({
      ...providers.env,
      LINK_MODE: 'associate',
      USER_REQUIRED: String(userRequired),
      SERVICE_TOKENS: `tester=${TOKEN}`.replace(
        /$/,
        `,vault:tokens+queries=${TOKEN}-vault`,
      ),
    });
    return apiClient(service.url, service.services.store);
  };

  it('C15: USER_REQUIRED=true, nobody signed in: refused with "sign in first", nothing stored', async () => {
    const api = await start(true);
    const page = await signInWith(cookieBrowser(), service.url, 'github', {
      id: '96',
      email: 'n96@example.com',
      emailVerified: true,
    });
    expect(page.status).toBe(401);
    expect(textOf(page.html)).toContain('Sign in first');
    expect((await api.get('/api/identities/github/96')).status).toBe(404);
    expect(await service.services.store.headPosition()).toBeNull();
    expect(await service.vault.get({ provider: 'github', subject: '96' })).toBeNull();
  });

  it('C16: USER_REQUIRED=false, nobody signed in: kept without a user, token kept, nobody signed in', async () => {
    const api = await start(false);
    const browser = cookieBrowser();
    const page = await signInWith(browser, service.url, 'github', {
      id: '97',
      email: 'n97@example.com',
      emailVerified: true,
    });
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain('connected to this site without a user');
    expect((await api.get('/api/identities/github/97')).body).toMatchObject({
      status: 'unowned',
      userId: null,
    });
    // Its token is kept: sealed in the vault, under the identity.
    const stored = await service.vault.get({ provider: 'github', subject: '97' });
    expect(stored?.accessToken).toMatch(/^gho_/);
    const account = await browser.get(`${service.url}/account`);
    expect(account.url).toBe(`${service.url}/`);
    expect(textOf(account.html)).toContain('Sign in first');
  });

  it('links to the signed-in local user, who can take over an unowned connection', async () => {
    const api = await start(false);
    await signInWith(cookieBrowser(), service.url, 'github', { id: '98' });
    const created = await api.command('register-local-user', {
      username: 'local98',
      password: 'correct horse battery',
    });
    const browser = cookieBrowser();
    await signInWithPassword(browser, service.url, 'local98', 'correct horse battery');
    const page = await linkWith(browser, service.url, 'github', { id: '98' });
    expect(textOf(page.html)).toContain('GitHub is now connected');
    expect((await api.get('/api/identities/github/98')).body).toMatchObject({
      status: 'linked',
      userId: created.body.userId,
    });
  });

  it('never links silently on a plain sign-in while signed in', async () => {
    const api = await start(true);
    await api.command('register-local-user', {
      username: 'local99',
      password: 'correct horse battery',
    });
    const browser = cookieBrowser();
    await signInWithPassword(browser, service.url, 'local99', 'correct horse battery');
    const page = await signInWith(browser, service.url, 'github', { id: '99' });
    expect(textOf(page.html)).toContain('use "Connect GitHub" on your account page');
    expect((await api.get('/api/identities/github/99')).status).toBe(404);
  });
});
