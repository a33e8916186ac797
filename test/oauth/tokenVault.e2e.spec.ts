import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { cookieBrowser } from '../support/browser.js';
import { signInWith } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import {
  removeDataDir,
  startTestService,
  TOKEN,
  type TestService,
} from '../support/service.js';

const VAULT = `${TOKEN}-vault`;

interface TokenAnswer {
  provider: string;
  subject: string;
  accessToken: string;
  scopes: string[];
  expiresAt: string | null;
}

describe('the token vault', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  afterEach(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });
  let skew = 0;
  const start = async () => {
    skew = 0;
    providers = await startProviderStandIns();
    service = await startTestService(
      { ...providers.env, SERVICE_TOKENS: `tester=${TOKEN},vault:tokens=${VAULT}` },
      { now: () => new Date(Date.now() + skew) },
    );
    return apiClient(service.url, service.services.store);
  };

  it("gives a trusted service the user's current access token, with scopes and expiry", async () => {
    const api = await start();
    await signInWith(cookieBrowser(), service.url, 'google', {
      id: 'g1',
      email: 'a@example.com',
      emailVerified: true,
    });
    const userId = (await api.get('/api/identities/google/g1')).body.userId as string;
    const path = `/api/users/${userId}/connections/google/token`;

    const reply = await api.get<TokenAnswer>(path, { token: VAULT });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({
      provider: 'google',
      subject: 'g1',
      accessToken: expect.stringMatching(/^ya29\./),
      scopes: ['openid', 'email', 'profile'],
    });
    expect(Date.parse(reply.body.expiresAt!)).toBeGreaterThan(Date.now());

    expect((await api.get(path)).status).toBe(403);
    expect((await api.get(path, { token: null })).status).toBe(401);
    expect(
      (await api.get(`/api/users/${userId}/connections/github/token`, { token: VAULT }))
        .body.code,
    ).toBe('identity-not-found');
  });

  it('keeps tokens encrypted: no file of the data directory holds one in clear', async () => {
    const api = await start();
    await signInWith(cookieBrowser(), service.url, 'github', {
      id: '7',
      email: 'g@example.com',
      emailVerified: true,
    });
    const userId = (await api.get('/api/identities/github/7')).body.userId as string;
    const { accessToken } = (
      await api.get<TokenAnswer>(`/api/users/${userId}/connections/github/token`, {
        token: VAULT,
      })
    ).body;
    await service.stop();
    for (const file of readdirSync(service.dataDir)) {
      const bytes = readFileSync(join(service.dataDir, file));
      expect(bytes.includes(Buffer.from(accessToken)), file).toBe(false);
    }
    service = await service.restart();
    const again = await apiClient(service.url, service.services.store).get<TokenAnswer>(
      `/api/users/${userId}/connections/github/token`,
      { token: VAULT },
    );
    expect(again.body.accessToken).toBe(accessToken);
  });

  it('refreshes an expired token once, even for many concurrent requests', async () => {
    const api = await start();
    await signInWith(cookieBrowser(), service.url, 'google', {
      id: 'g2',
      email: 'b@example.com',
      emailVerified: true,
    });
    const userId = (await api.get('/api/identities/google/g2')).body.userId as string;
    const path = `/api/users/${userId}/connections/google/token`;
    const before = (await api.get<TokenAnswer>(path, { token: VAULT })).body.accessToken;
    expect(providers.provider.refreshCount()).toBe(0);
    // Two hours later the hour-long token has expired.
    skew = 2 * 3_600_000;
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => api.get<TokenAnswer>(path, { token: VAULT })),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([200]));
    const after = new Set(replies.map((r) => r.body.accessToken));
    expect(after.size).toBe(1);
    expect([...after][0]).not.toBe(before);
    expect(providers.provider.refreshCount()).toBe(1);
    const later = await api.get<TokenAnswer>(path, { token: VAULT });
    expect(later.body.accessToken).toBe([...after][0]);
    expect(providers.provider.refreshCount()).toBe(1);
  });

  it('asks for a new sign-in when there is no refresh token', async () => {
    const api = await start();
    await signInWith(cookieBrowser(), service.url, 'github', { id: '8' });
    const userId = (await api.get('/api/identities/github/8')).body.userId as string;
    // GitHub tokens do not expire; an unknown subject of a user has none stored.
    const missing = await api.get(
      `/api/users/${userId}/connections/github/token?subject=9`,
      { token: VAULT },
    );
    expect(missing.body.code).toBe('identity-not-found');
  });
});
