import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { spawnService, type ServiceProcess } from '../support/process.js';
import { TOKEN, tempDir, waitUntilReady } from '../support/service.js';

describe('the service process', () => {
  let running: ServiceProcess | null = null;
  afterEach(async () => {
    await running?.stop('SIGKILL');
    running = null;
  });

  it('prints its address, data directory and generated development token', async () => {
    const dataDir = tempDir();
    running = await spawnService({ PORT: '0', DATA_DIR: dataDir });
    const out = running.output();
    expect(out).toContain(`data directory: ${dataDir}`);
    const token = /development service token: (\S+)/.exec(out)?.[1];
    expect(token).toBeDefined();
    expect(out).toContain(join(dataDir, 'secrets.json'));
    await waitUntilReady(running.url);
    const reply = await apiClient(running.url).command(
      'register-via-provider',
      { provider: 'github', subject: '1' },
      { token: token! },
    );
    expect(reply.status).toBe(201);
  });

  it('refuses a bad configuration with a message naming the variable', async () => {
    await expect(spawnService({ PORT: 'eighty', DATA_DIR: tempDir() })).rejects.toThrow(
      /PORT/,
    );
    await expect(
      spawnService({ LINK_MODE: 'sometimes', DATA_DIR: tempDir() }),
    ).rejects.toThrow(/LINK_MODE/);
  });

  // Two process starts and a costly hash: generous on a loaded CI machine.
  it(
    'finishes in-flight requests on SIGTERM, closes the store, and keeps the data',
    { timeout: 90_000 },
    async () => {
      const dataDir = tempDir();
      const env = {
        PORT: '0',
        DATA_DIR: dataDir,
        SERVICE_TOKENS: `tester=${TOKEN}`,
        PASSWORD_HASH_COST: '17',
      };
      running = await spawnService(env);
      await waitUntilReady(running.url);
      const api = apiClient(running.url);

      // A slow command (a costly password hash) is in flight when the signal comes.
      const inFlight = api.command('register-local-user', {
        username: 'slow',
        password: 'correct horse battery',
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const exit = running.stop('SIGTERM');
      const reply = await inFlight;
      expect(reply.status).toBe(201);
      expect(await exit).toBe(0);
      expect(existsSync(join(dataDir, 'events.sqlite-wal'))).toBe(false);

      running = await spawnService(env);
      await waitUntilReady(running.url);
      const user = await apiClient(running.url).get(`/api/users/${reply.body.userId}`);
      expect(user.body).toMatchObject({
        status: 'active',
        username: 'slow',
        hasPassword: true,
      });
    },
  );
});
