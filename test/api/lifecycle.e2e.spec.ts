import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { spawnService, type ServiceProcess } from '../support/process.js';
import { TOKEN, tempDir, waitUntilReady } from '../support/service.js';

/** A fresh data directory, a known token and a costly password hash (slow commands). */
const slowEnv = (extra: Record<string, string> = {}) => ({
  PORT: '0',
  DATA_DIR: tempDir(),
  SERVICE_TOKENS: `tester=${TOKEN}`,
  PASSWORD_HASH_COST: '17',
  ...extra,
});

/** Sends a slow `register-local-user` over a raw socket (HTTP/1.1, kept alive). */
const rawRegister = async (url: string, username: string) => {
  const body = JSON.stringify({ username, password: 'correct horse battery' });
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    [
      'POST /api/commands/register-local-user HTTP/1.1',
      `host: 127.0.0.1:${port}`,
      `authorization: Bearer ${TOKEN}`,
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
  return socket;
};

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
      const env = slowEnv();
      const dataDir = env.DATA_DIR;
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

  it(
    'on SIGTERM, closes kept-alive connections after their answer in flight',
    { timeout: 90_000 },
    async () => {
      running = await spawnService(slowEnv());
      await waitUntilReady(running.url);
      // A client keeping its connection alive (HTTP/1.1's default) could otherwise hold
      // the server open with one request after another until the forced close.
      const socket = await rawRegister(running.url, 'kept');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      const ended = once(socket, 'end');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const exit = running.stop('SIGTERM');
      await ended;
      socket.destroy();
      expect(received).toMatch(/^HTTP\/1\.1 201 /);
      expect(received.toLowerCase()).toContain('connection: close');
      expect(await exit).toBe(0);
    },
  );

  it(
    'on SIGTERM, finishes a command whose client hung up before the stores close',
    { timeout: 90_000 },
    async () => {
      const env = slowEnv({ LOG_LEVEL: 'info' });
      running = await spawnService(env);
      await waitUntilReady(running.url);

      // The client hangs up while the password is hashed; the signal comes after that.
      const socket = await rawRegister(running.url, 'hungup');
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      await once(socket, 'close');
      const stopping = running;
      expect(await stopping.stop('SIGTERM')).toBe(0);

      const out = stopping.output();
      expect(out).not.toContain('closed');
      const done = out
        .split('\n')
        .filter((line) => line.includes('"command done"'))
        .map((line) => JSON.parse(line) as { userId: string });
      expect(done).toHaveLength(1);

      running = await spawnService(env);
      await waitUntilReady(running.url);
      const user = await apiClient(running.url).get(`/api/users/${done[0]!.userId}`);
      expect(user.body).toMatchObject({ status: 'active', username: 'hungup' });
    },
  );
});
