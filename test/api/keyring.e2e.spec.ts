import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { apiClient } from '../support/client.js';
import {
  startTestService,
  testLogger,
  waitUntilReady,
  type TestService,
} from '../support/service.js';

const key = () => randomBytes(32).toString('base64');

describe('TOKEN_ENCRYPTION_KEY against the data already stored', () => {
  let service: TestService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  // Started, and ready: the API answers 503 until then.
  const startWith = async (config: Config, tokenEncryptionKey: string) => {
    const started = await startService(
      { ...config, tokenEncryptionKey },
      { logger: testLogger() },
    );
    await waitUntilReady(started.url);
    return started;
  };

  it('refuses to start with a key that cannot open the stored data, and names the way out', async () => {
    const oldKey = key();
    const newKey = key();
    service = await startTestService({ TOKEN_ENCRYPTION_KEY: oldKey });
    const api = apiClient(service.url, service.services.store);
    const reply = await api.command('register-via-provider', {
      provider: 'github',
      subject: 'keyring-1',
      profile: { displayName: 'Kay Ring', email: 'kay@example.com', emailVerified: true },
    });
    expect(reply.status).toBe(201);
    const { config } = service;
    await service.stop();
    service = null;

    // A new key alone: it is named k1 too, and cannot open what k1 sealed.
    const refused = await startWith(config, newKey).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(refused?.name).toBe('KeyringMismatchError');
    expect(refused?.message).toMatch(/TOKEN_ENCRYPTION_KEY cannot open the data key/);
    expect(refused?.message).toContain('"k1"');
    expect(refused?.message).toContain('k2:<new key>,k1:<old key>');
    expect(refused?.message).not.toContain(oldKey);
    expect(refused?.message).not.toContain(newKey);

    // The new key first, the old one kept under its name: it starts, and reads the person.
    const rotated = await startWith(config, `k2:${newKey},k1:${oldKey}`);
    const again = apiClient(rotated.url, rotated.services.store);
    const user = await again.get(`/api/users/${reply.body.userId}`);
    expect(user.body).toMatchObject({
      displayName: 'Kay Ring',
      email: 'kay@example.com',
    });
    // Sealed with k2 from now on.
    expect(
      (
        await again.command('register-via-provider', {
          provider: 'github',
          subject: 'keyring-2',
          profile: { email: 'kay2@example.com', emailVerified: true },
        })
      ).status,
    ).toBe(201);
    await rotated.stop();

    // Dropping k1 while data sealed with it remains is refused as well.
    await expect(startWith(config, `k2:${newKey}`)).rejects.toThrow(
      /sealed with the key named "k1", and TOKEN_ENCRYPTION_KEY has no key of that name/,
    );
  });
});
