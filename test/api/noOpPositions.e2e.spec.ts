import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, registerViaProvider, type ApiClient } from '../support/client.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

/**
 * A command sent again that finds its work done answers with no events. Its position
 * must still let a reader see that work: the first answer's effect may lie on other
 * streams, after the user's last event (found by a new user of the API: an erasure sent
 * twice answered 19, then 17).
 */
describe('the position of a command that changes nothing', () => {
  let service: TestService;
  let api: ApiClient;
  beforeAll(async () => {
    service = await startTestService();
    api = apiClient(service.url);
  });
  afterAll(async () => {
    await service.stop();
    removeDataDir(service);
  });

  const identityAt = (position: unknown, provider: string, subject: string) =>
    api.get(`/api/identities/${provider}/${subject}?minPosition=${String(position)}`);

  it('is never behind the first answer, for an unlink and an erasure sent twice', async () => {
    const user = await registerViaProvider(api, 'github', 'noop-1');
    expect(
      (
        await api.command('link-provider', {
          userId: user.userId,
          provider: 'google',
          subject: 'noop-2',
        })
      ).status,
    ).toBe(200);
    // Something else written in between, on another stream.
    await registerViaProvider(api, 'github', 'noop-3');

    const unlink = { userId: user.userId, provider: 'google', subject: 'noop-2' };
    const first = await api.command('unlink-provider', unlink);
    const again = await api.command('unlink-provider', unlink);
    expect(first.body.events.length).toBeGreaterThan(0);
    expect(again.status).toBe(200);
    expect(again.body.events).toEqual([]);
    expect(BigInt(again.body.position)).toBeGreaterThanOrEqual(
      BigInt(first.body.position),
    );

    const erase = { userId: user.userId };
    const erased = await api.command('erase-user', erase);
    const erasedAgain = await api.command('erase-user', erase);
    expect(erased.body.events).toContain('IdentityReleased');
    expect(erasedAgain.body.events).toEqual([]);
    expect(BigInt(erasedAgain.body.position)).toBeGreaterThanOrEqual(
      BigInt(erased.body.position),
    );
    // Read at the repeated answer's position: the identity is released.
    const github = await identityAt(erasedAgain.body.position, 'github', 'noop-1');
    expect(github.status).toBe(200);
    expect(github.body.userId ?? null).toBeNull();
  });
});
