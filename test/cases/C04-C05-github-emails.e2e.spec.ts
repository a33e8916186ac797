import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/client.js';
import { cookieBrowser } from '../support/browser.js';
import { signInWith } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

describe("GitHub's email list", () => {
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

  const userOf = async (subject: string) => {
    const { userId } = (await api.get(`/api/identities/github/${subject}`)).body;
    return (await api.get(`/api/users/${userId as string}`)).body;
  };

  it('C04: /user has no email and /user/emails lists only a private primary: the primary is used', async () => {
    const page = await signInWith(cookieBrowser(), service.url, 'github', {
      id: '4004',
      login: 'pat',
      email: 'pat@users.noreply.example.com',
      emailVerified: true,
      emailPrivate: true,
    });
    expect(page.url).toBe(`${service.url}/account`);
    expect(await userOf('4004')).toMatchObject({
      email: 'pat@users.noreply.example.com',
      emailVerified: true,
    });
  });

  it('C05: /user/emails answers with an empty list: the user is created without email', async () => {
    providers.faults.emails = 'empty';
    const page = await signInWith(cookieBrowser(), service.url, 'github', {
      id: '5005',
      login: 'ned',
      email: 'ned@example.com',
      emailVerified: true,
      emailPrivate: true,
    });
    delete providers.faults.emails;
    expect(page.url).toBe(`${service.url}/account`);
    expect(await userOf('5005')).toMatchObject({
      status: 'active',
      email: null,
      emailVerified: false,
    });
  });

  it('an unverified primary address is kept as unverified', async () => {
    await signInWith(cookieBrowser(), service.url, 'github', {
      id: '5006',
      email: 'una@example.com',
      emailVerified: false,
    });
    expect(await userOf('5006')).toMatchObject({
      email: 'una@example.com',
      emailVerified: false,
    });
  });

  it('an email list that fails or is not JSON means no email, not a failed sign-in', async () => {
    for (const fault of ['http-500', 'not-json'] as const) {
      providers.faults.emails = fault;
      const subject = `5007${fault.length}`;
      const page = await signInWith(cookieBrowser(), service.url, 'github', {
        id: subject,
        email: 'x@example.com',
        emailVerified: true,
        emailPrivate: true,
      });
      expect(page.url).toBe(`${service.url}/account`);
      expect(await userOf(subject)).toMatchObject({ email: null });
    }
    delete providers.faults.emails;
  });
});
