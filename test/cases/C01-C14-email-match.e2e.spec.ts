import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { cookieBrowser, textOf } from '../support/browser.js';
import { signInWith } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

describe('an identity whose email belongs to an existing user', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  afterEach(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });
  const start = async (env: Record<string, string> = {}) => {
    providers = await startProviderStandIns();
    service = await startTestService({ ...providers.env, ...env });
    return apiClient(service.url, service.services.store);
  };

  it('C01: with EMAIL_MATCH=confirm, nothing is created; signing in the existing way links it in one step', async () => {
    const api = await start();
    // U signed up with google:g1, ann@example.com verified.
    const first = cookieBrowser();
    await signInWith(first, service.url, 'google', {
      id: 'g1',
      name: 'Ann',
      email: 'ann@example.com',
      emailVerified: true,
    });
    const u = (await api.get('/api/identities/google/g1')).body.userId as string;

    // Someone signs in with github:77, verified Ann@Example.com, nobody signed in.
    const browser = cookieBrowser();
    const pending = await signInWith(browser, service.url, 'github', {
      id: '77',
      login: 'ann',
      email: 'Ann@Example.com',
      emailVerified: true,
    });
    expect(pending.url).toBe(`${service.url}/auth/confirm`);
    expect(textOf(pending.html)).toContain('An account with this email already exists');
    expect(textOf(pending.html)).toContain('sign in the way you did before');
    expect((await api.get('/api/identities/github/77')).status).toBe(404);
    expect((await api.get('/api/users?email=ann@example.com')).body.users).toHaveLength(
      1,
    );

    // In the same browser, signing in with google:g1 links github:77 to U.
    const done = await signInWith(browser, service.url, 'google', {
      id: 'g1',
      name: 'Ann',
      email: 'ann@example.com',
      emailVerified: true,
    });
    expect(done.url).toBe(`${service.url}/account`);
    expect(textOf(done.html)).toContain('GitHub is now connected');
    expect((await api.get('/api/identities/github/77')).body).toMatchObject({
      status: 'linked',
      userId: u,
    });
  });

  it('C01, another account: signing in as someone else does not link the pending identity', async () => {
    const api = await start();
    await signInWith(cookieBrowser(), service.url, 'google', {
      id: 'g1',
      email: 'ann@example.com',
      emailVerified: true,
    });
    const browser = cookieBrowser();
    await signInWith(browser, service.url, 'github', {
      id: '77',
      email: 'ann@example.com',
      emailVerified: true,
    });
    const other = await signInWith(browser, service.url, 'google', {
      id: 'g-other',
      email: 'other@example.com',
      emailVerified: true,
    });
    expect(textOf(other.html)).toContain('GitHub was not connected');
    expect((await api.get('/api/identities/github/77')).status).toBe(404);
  });

  it('C14: with EMAIL_MATCH=link-verified, an unverified email is never attached to the existing user', async () => {
    const api = await start({ EMAIL_MATCH: 'link-verified' });
    await signInWith(cookieBrowser(), service.url, 'github', {
      id: '5',
      email: 'ann@example.com',
      emailVerified: true,
    });
    const existing = (await api.get('/api/identities/github/5')).body.userId;

    await signInWith(cookieBrowser(), service.url, 'google', {
      id: 'g2',
      email: 'ann@example.com',
      emailVerified: false,
    });
    const g2 = (await api.get('/api/identities/google/g2')).body;
    expect(g2.status).toBe('linked');
    expect(g2.userId).not.toBe(existing);
    const user = await api.get(`/api/users/${existing}`);
    expect(user.body.connections).toHaveLength(1);
  });

  it('with EMAIL_MATCH=link-verified, a verified email on both sides links at once', async () => {
    const api = await start({ EMAIL_MATCH: 'link-verified' });
    await signInWith(cookieBrowser(), service.url, 'github', {
      id: '6',
      email: 'bea@example.com',
      emailVerified: true,
    });
    const existing = (await api.get('/api/identities/github/6')).body.userId;
    const page = await signInWith(cookieBrowser(), service.url, 'google', {
      id: 'g6',
      email: 'BEA@example.com',
      emailVerified: true,
    });
    expect(textOf(page.html)).toContain('Google is now connected');
    expect((await api.get('/api/identities/google/g6')).body.userId).toBe(existing);
  });

  it('with EMAIL_MATCH=link-verified, a second GitHub account with the email of one that has GitHub is refused in words for someone not signed in', async () => {
    const api = await start({ EMAIL_MATCH: 'link-verified' });
    await signInWith(cookieBrowser(), service.url, 'github', {
      id: '9',
      email: 'bob@example.org',
      emailVerified: true,
    });
    const page = await signInWith(cookieBrowser(), service.url, 'github', {
      id: '10',
      email: 'bob@example.org',
      emailVerified: true,
    });
    expect(page.status).toBe(409);
    expect(textOf(page.html)).toContain(
      'An account with this email has another GitHub account',
    );
    expect(textOf(page.html)).not.toContain('your account');
    expect((await api.get('/api/identities/github/10')).status).toBe(404);
  });

  // A provider may verify an address that only looks like someone's: the Kelvin sign,
  // fullwidth letters and the dotless ı become ASCII letters under Unicode case mapping or
  // NFKC, and GitHub's password-reset takeover of 2019 came from exactly that.
  it.each([
    ['the Kelvin sign', '\u212Aim@example.org'],
    ['fullwidth letters', '\uff4b\uff49\uff4d@example.org'],
    ['the dotless i', 'k\u0131m@example.org'],
  ])(
    'with EMAIL_MATCH=link-verified, a verified look-alike address (%s) is another person',
    async (_, lookalike) => {
      const api = await start({ EMAIL_MATCH: 'link-verified' });
      await signInWith(cookieBrowser(), service.url, 'github', {
        id: '8',
        email: 'kim@example.org',
        emailVerified: true,
      });
      const kim = (await api.get('/api/identities/github/8')).body.userId as string;

      const page = await signInWith(cookieBrowser(), service.url, 'google', {
        id: 'g8',
        email: lookalike,
        emailVerified: true,
      });
      expect(textOf(page.html)).not.toContain('Google is now connected');
      const g8 = (await api.get('/api/identities/google/g8')).body;
      expect(g8.status).toBe('linked');
      expect(g8.userId).not.toBe(kim);
      expect((await api.get(`/api/users/${kim}`)).body.connections).toHaveLength(1);
      const byEmail = await api.get(
        `/api/users?email=${encodeURIComponent('KIM@example.org')}`,
      );
      expect(
        (byEmail.body.users as { userId: string }[]).map((user) => user.userId),
      ).toEqual([kim]);
    },
  );
});
