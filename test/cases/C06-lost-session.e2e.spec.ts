import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { cookieBrowser, textOf } from '../support/browser.js';
import { signInWith, startSignIn } from '../support/flows.js';
import {
  consent,
  startProviderStandIns,
  type ProviderStandIns,
} from '../support/providers.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

describe('C06: the browser loses its session cookie during the sign-in', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  beforeAll(async () => {
    providers = await startProviderStandIns();
    service = await startTestService(providers.env);
  });
  afterAll(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });

  it('fails cleanly, exchanges no code, creates nothing, and the flow can be restarted', async () => {
    const browser = cookieBrowser();
    const atProvider = await startSignIn(browser, service.url, 'github');
    browser.clearCookies();
    const page = await consent(browser, atProvider, 'github', {
      id: '606',
      email: 'six@example.com',
      emailVerified: true,
    });
    expect(page.status).toBe(400);
    expect(textOf(page.html)).toContain('The sign-in expired, start again');
    expect(
      (
        await apiClient(service.url, service.services.store).get(
          '/api/identities/github/606',
        )
      ).status,
    ).toBe(404);

    // The code was never exchanged: the stand-in would still take it once.
    const callback = page.trail.find((url) => url.includes('/auth/github/callback'))!;
    const code = new URL(callback).searchParams.get('code')!;
    const exchange = await fetch(`${providers.url}/github/login/oauth/access_token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({
        client_id: 'test-github-client',
        client_secret: 'test-github-secret-123',
        code,
        redirect_uri: new URL(callback).origin + new URL(callback).pathname,
      }),
    });
    expect(await exchange.json()).toHaveProperty('access_token');

    const again = await signInWith(browser, service.url, 'github', {
      id: '606',
      email: 'six@example.com',
      emailVerified: true,
    });
    expect(again.url).toBe(`${service.url}/account`);
  });
});
