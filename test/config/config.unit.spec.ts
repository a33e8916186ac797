import { describe, expect, it } from 'vitest';
import {
  childEnvironment,
  ConfigError,
  loadConfig,
  parseServiceTokens,
} from '../../src/config.js';

describe('configuration', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      serviceTokens: null,
      devProvider: true,
      providers: {},
      policy: {
        linkMode: 'create',
        userRequired: true,
        emailMatch: 'confirm',
        identitiesPerProvider: 1,
      },
    });
  });

  it('reads service tokens with and without scopes', () => {
    expect(parseServiceTokens('billing=s3cret,reporting:queries+audit=an0ther')).toEqual([
      { name: 'billing', secret: 's3cret', scopes: ['commands', 'queries', 'audit'] },
      { name: 'reporting', secret: 'an0ther', scopes: ['queries', 'audit'] },
    ]);
  });

  it.each([
    ['no-equals-sign', /name=secret/],
    ['a:admin=x', /unknown scope admin/],
    ['a=x,a=y', /names must be unique/],
    ['a=x,b=x', /secret of its own/],
  ])('refuses SERVICE_TOKENS=%s with a message that tells the fix', (value, message) => {
    expect(() => parseServiceTokens(value)).toThrow(message);
  });

  it('reports every bad variable at once, by name', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', LINK_MODE: 'sometimes', EMAIL_MATCH: 'maybe' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of ['PORT', 'LINK_MODE', 'EMAIL_MATCH']) {
      expect((error as Error).message).toContain(name);
    }
  });

  it('requires secrets in production, and never runs the development provider there', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SERVICE_TOKENS/);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', SERVICE_TOKENS: 'svc=0123456789abcdef0123' }),
    ).toThrow(/SESSION_SECRET and TOKEN_ENCRYPTION_KEY/);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', SERVICE_TOKENS: 'svc=short' }),
    ).toThrow(/16 characters/);
    const config = loadConfig({
      NODE_ENV: 'production',
      SERVICE_TOKENS: 'svc=0123456789abcdef0123',
      SESSION_SECRET: 'a-session-secret-of-some-length',
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    });
    expect(config.devProvider).toBe(false);
  });

  it('takes a provider with both its client id and secret, and turns the development one off', () => {
    expect(() => loadConfig({ GITHUB_CLIENT_ID: 'id' })).toThrow(/go together/);
    const config = loadConfig({ GITHUB_CLIENT_ID: 'id', GITHUB_CLIENT_SECRET: 'secret' });
    expect(config.devProvider).toBe(false);
    expect(config.providers.github).toMatchObject({
      clientId: 'id',
      tokenURL: 'https://github.com/login/oauth/access_token',
      userEmailURL: 'https://api.github.com/user/emails',
    });
    expect(config.providers.google).toBeUndefined();
  });

  it('refuses a Google userinfo URL the strategy would not parse', () => {
    expect(() =>
      loadConfig({ GOOGLE_USERINFO_URL: 'https://example.com/oauth2/v3/me' }),
    ).toThrow(/\/userinfo/);
  });

  it('reads TRUST_PROXY as Express does, "true" meaning the nearest proxy only', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(
      loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1, 192.168.0.0/255.255.0.0' }).trustProxy,
    ).toBe('10.0.0.0/8, ::1, 192.168.0.0/255.255.0.0');
  });

  it('refuses a TRUST_PROXY Express would not understand, naming the variable', () => {
    for (const value of ['banana', '10.0.0.0/33', 'loopback, 300.1.1.1', '::1/129']) {
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrow(/TRUST_PROXY/);
    }
  });

  // CI exports MONGODB_URL for the tests; a service spawned on the embedded default must
  // not pick it up (it did, and a SIGTERM test read a lagging MongoDB read model).
  it('gives a child service only the configuration it is handed', () => {
    const env = childEnvironment(
      { DATA_DIR: '/tmp/x', LOG_LEVEL: 'warn' },
      {
        PATH: '/usr/bin',
        MONGODB_URL: 'mongodb://ci',
        EVENTSTORE_URL: 'esdb://ci',
        PORT: '1',
      },
    );
    expect(env).toEqual({ PATH: '/usr/bin', DATA_DIR: '/tmp/x', LOG_LEVEL: 'warn' });
    expect(childEnvironment({ MONGODB_URL: 'mongodb://mine' }, {}).MONGODB_URL).toBe(
      'mongodb://mine',
    );
  });
});
