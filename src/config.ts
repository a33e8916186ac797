import { isIP } from 'node:net';
import { z } from 'zod';
import { connectionStringProblem } from './eventstore/eventStoreDb.js';
import type { Policy } from './domain/policies.js';

export const SCOPES = ['commands', 'queries', 'audit', 'tokens'] as const;
export type Scope = (typeof SCOPES)[number];
const DEFAULT_SCOPES: Scope[] = ['commands', 'queries', 'audit'];

export interface ServiceToken {
  name: string;
  secret: string;
  scopes: Scope[];
}

export type ProviderName = 'github' | 'google';

/** Endpoints and credentials of one OAuth provider. */
export interface OAuthProviderConfig {
  clientId: string;
  clientSecret: string;
  authorizationURL: string;
  tokenURL: string;
  userProfileURL: string;
  /** GitHub only. */
  userEmailURL?: string;
}

export const PROVIDER_DEFAULTS: Record<
  ProviderName,
  Omit<OAuthProviderConfig, 'clientId' | 'clientSecret'>
> = {
  github: {
    authorizationURL: 'https://github.com/login/oauth/authorize',
    tokenURL: 'https://github.com/login/oauth/access_token',
    userProfileURL: 'https://api.github.com/user',
    userEmailURL: 'https://api.github.com/user/emails',
  },
  google: {
    authorizationURL: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenURL: 'https://oauth2.googleapis.com/token',
    userProfileURL: 'https://openidconnect.googleapis.com/v1/userinfo',
  },
};

export interface Config {
  production: boolean;
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  policy: Policy;
  /** Null when SERVICE_TOKENS is unset: a development token is generated instead. */
  serviceTokens: ServiceToken[] | null;
  passwordHashCost: number;
  repairGraceMs: number;
  reconcileIntervalMs: number;
  idempotencyTtlHours: number;
  minPositionWaitMs: number;
  /** Express's `trust proxy`: false, a number of proxies, or addresses ("true" means 1). */
  trustProxy: boolean | number | string;
  eventStoreUrl: string | null;
  mongoUrl: string | null;
  /** Base URL the browser sees (for OAuth callbacks); null: the address it listens on. */
  publicUrl: string | null;
  /** Providers with real client ids; empty when the development provider plays them. */
  providers: Partial<Record<ProviderName, OAuthProviderConfig>>;
  devProvider: boolean;
  sessionSecret: string | null;
  tokenEncryptionKey: string | null;
  sessionTtlHours: number;
  authRateLimitPerMinute: number;
  /** Requests a minute for each API caller (a token, or a signed-in user). */
  apiRateLimitPerMinute: number;
  /** Commands handled at once; more are refused (429) rather than queued without bound. */
  maxInFlightCommands: number;
  /** How long a request may take, from its first byte to its answer. */
  requestTimeoutMs: number;
  /** Whether this process may advance the MongoDB read model (one instance leads). */
  runProjector: boolean;
}

const bool = z.enum(['true', 'false']).transform((value) => value === 'true');

// What Express's `trust proxy` accepts, checked here so that a mistake names the variable.
const trustProxyValid = (value: string): boolean => {
  if (/^(true|false|\d+)$/.test(value)) return true;
  return value.split(',').every((entry) => {
    const item = entry.trim();
    if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
    const [address, range, ...rest] = item.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return false;
    if (range === undefined) return true;
    if (isIP(range) === family) return true;
    return /^\d+$/.test(range) && Number(range) <= (family === 4 ? 32 : 128);
  });
};
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  LINK_MODE: z.enum(['create', 'associate']).default('create'),
  USER_REQUIRED: bool.default(true),
  EMAIL_MATCH: z.enum(['confirm', 'link-verified', 'separate']).default('confirm'),
  IDENTITIES_PER_PROVIDER: int(1, 100).default(1),
  SERVICE_TOKENS: z.string().optional(),
  PASSWORD_HASH_COST: int(10, 20).default(15),
  REPAIR_GRACE_SECONDS: z.coerce.number().min(0).max(86_400).default(30),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().min(1).max(86_400).default(60),
  IDEMPOTENCY_TTL_HOURS: int(24, 24 * 365).default(48),
  MIN_POSITION_WAIT_MS: int(0, 60_000).default(5000),
  TRUST_PROXY: z
    .string()
    .default('false')
    .refine(trustProxyValid, {
      message:
        'must be true, false, a number of proxies, or addresses and subnets ' +
        '(loopback, linklocal, uniquelocal, 10.0.0.0/8, ::1), comma-separated',
    })
    .transform((value): boolean | number | string =>
      value === 'false'
        ? false
        : value === 'true'
          ? 1
          : /^\d+$/.test(value)
            ? Number(value)
            : value,
    ),
  EVENTSTORE_URL: z
    .string()
    .regex(
      /^esdb(\+discover)?:\/\//,
      'must be an esdb:// or esdb+discover:// connection string',
    )
    .superRefine((url, context) => {
      const problem = connectionStringProblem(url);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  MONGODB_URL: z
    .string()
    .regex(
      /^mongodb(\+srv)?:\/\//,
      'must be a mongodb:// or mongodb+srv:// connection string',
    )
    .optional(),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  GITHUB_AUTHORIZATION_URL: z.url().optional(),
  GITHUB_TOKEN_URL: z.url().optional(),
  GITHUB_USER_URL: z.url().optional(),
  GITHUB_EMAILS_URL: z.url().optional(),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_AUTHORIZATION_URL: z.url().optional(),
  GOOGLE_TOKEN_URL: z.url().optional(),
  GOOGLE_USERINFO_URL: z
    .url()
    .refine((url) => new URL(url).pathname.endsWith('/userinfo'), {
      message: 'must end in /userinfo (the Google strategy parses nothing else)',
    })
    .optional(),
  SESSION_SECRET: z.string().min(16).optional(),
  TOKEN_ENCRYPTION_KEY: z.string().min(1).optional(),
  SESSION_TTL_HOURS: int(1, 24 * 365).default(24 * 7),
  AUTH_RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(60),
  API_RATE_LIMIT_PER_MINUTE: int(1, 10_000_000).default(60_000),
  MAX_IN_FLIGHT_COMMANDS: int(1, 100_000).default(256),
  REQUEST_TIMEOUT_SECONDS: int(1, 600).default(30),
  PROJECTOR: z.enum(['on', 'off']).default('on'),
});

/** The names of every variable the service reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * An environment for a child service that gets its configuration only from `given`: the
 * service's own variables in this process's environment (CI exports MONGODB_URL for the
 * tests, for one) are left out, the rest (PATH and the like) kept.
 */
export const childEnvironment = (
  given: Record<string, string>,
  inherited: NodeJS.ProcessEnv = process.env,
): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) {
    if (value !== undefined && !CONFIG_VARIABLES.includes(name)) env[name] = value;
  }
  return { ...env, ...given };
};

/** A configuration mistake, with the fix in its message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the environment. Every bad value is reported at once, each with the variable's
 * name and what it accepts.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  // An empty variable (as `VAR=` or docker compose's `${VAR:-}` gives) means unset.
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== ''),
  );
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const serviceTokens = e.SERVICE_TOKENS ? parseServiceTokens(e.SERVICE_TOKENS) : null;
  if (production && serviceTokens === null) {
    throw new ConfigError(
      'SERVICE_TOKENS is required when NODE_ENV=production: set it to name=secret pairs',
    );
  }
  if (production && serviceTokens?.some((token) => token.secret.length < 16)) {
    throw new ConfigError('SERVICE_TOKENS: every secret needs at least 16 characters');
  }
  const providers = providersFrom(e);
  if (production && (!e.SESSION_SECRET || !e.TOKEN_ENCRYPTION_KEY)) {
    throw new ConfigError(
      'SESSION_SECRET and TOKEN_ENCRYPTION_KEY are required when NODE_ENV=production ' +
        '(make each with: openssl rand -base64 32)',
    );
  }
  if (production && Object.keys(providers).length > 0 && !e.PUBLIC_URL) {
    throw new ConfigError(
      'PUBLIC_URL is required when NODE_ENV=production and a provider is configured: ' +
        'set it to the address browsers use (the callbacks registered with the providers)',
    );
  }
  return {
    production,
    host: e.HOST,
    port: e.PORT,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    policy: {
      linkMode: e.LINK_MODE,
      userRequired: e.USER_REQUIRED,
      emailMatch: e.EMAIL_MATCH,
      identitiesPerProvider: e.IDENTITIES_PER_PROVIDER,
    },
    serviceTokens,
    passwordHashCost: e.PASSWORD_HASH_COST,
    repairGraceMs: e.REPAIR_GRACE_SECONDS * 1000,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000,
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    minPositionWaitMs: e.MIN_POSITION_WAIT_MS,
    trustProxy: e.TRUST_PROXY,
    eventStoreUrl: e.EVENTSTORE_URL || null,
    mongoUrl: e.MONGODB_URL || null,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    providers,
    devProvider: !production && Object.keys(providers).length === 0,
    sessionSecret: e.SESSION_SECRET ?? null,
    tokenEncryptionKey: e.TOKEN_ENCRYPTION_KEY ?? null,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    authRateLimitPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    apiRateLimitPerMinute: e.API_RATE_LIMIT_PER_MINUTE,
    maxInFlightCommands: e.MAX_IN_FLIGHT_COMMANDS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_SECONDS * 1000,
    runProjector: e.PROJECTOR === 'on',
  };
};

type Env = z.infer<typeof envSchema>;

const providersFrom = (e: Env): Config['providers'] => {
  const providers: Config['providers'] = {};
  const github = pair('GITHUB', e.GITHUB_CLIENT_ID, e.GITHUB_CLIENT_SECRET);
  if (github) {
    providers.github = {
      ...github,
      authorizationURL:
        e.GITHUB_AUTHORIZATION_URL ?? PROVIDER_DEFAULTS.github.authorizationURL,
      tokenURL: e.GITHUB_TOKEN_URL ?? PROVIDER_DEFAULTS.github.tokenURL,
      userProfileURL: e.GITHUB_USER_URL ?? PROVIDER_DEFAULTS.github.userProfileURL,
      userEmailURL: e.GITHUB_EMAILS_URL ?? PROVIDER_DEFAULTS.github.userEmailURL,
    };
  }
  const google = pair('GOOGLE', e.GOOGLE_CLIENT_ID, e.GOOGLE_CLIENT_SECRET);
  if (google) {
    providers.google = {
      ...google,
      authorizationURL:
        e.GOOGLE_AUTHORIZATION_URL ?? PROVIDER_DEFAULTS.google.authorizationURL,
      tokenURL: e.GOOGLE_TOKEN_URL ?? PROVIDER_DEFAULTS.google.tokenURL,
      userProfileURL: e.GOOGLE_USERINFO_URL ?? PROVIDER_DEFAULTS.google.userProfileURL,
    };
  }
  return providers;
};

const pair = (prefix: string, id: string | undefined, secret: string | undefined) => {
  if (!id && !secret) return null;
  if (!id || !secret) {
    throw new ConfigError(
      `${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET go together: set both, or neither`,
    );
  }
  return { clientId: id, clientSecret: secret };
};

const TOKEN_ENTRY = /^([A-Za-z0-9_.-]{1,64})(?::([a-z+]+))?=(.+)$/;

/**
 * `SERVICE_TOKENS` holds comma-separated `name=secret` pairs; `name:queries+audit=secret`
 * limits a token to those scopes. The name is the actor recorded in events.
 */
export const parseServiceTokens = (value: string): ServiceToken[] => {
  const tokens = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const match = TOKEN_ENTRY.exec(entry);
      if (!match) {
        throw new ConfigError(
          'SERVICE_TOKENS: each entry must look like name=secret or name:scope+scope=secret',
        );
      }
      const [, name, scopeList, secret] = match as unknown as [
        string,
        string,
        string,
        string,
      ];
      const scopes = scopeList ? scopeList.split('+') : DEFAULT_SCOPES;
      const unknown = scopes.filter(
        (scope) => !(SCOPES as readonly string[]).includes(scope),
      );
      if (unknown.length > 0) {
        throw new ConfigError(
          `SERVICE_TOKENS: unknown scope ${unknown.join(', ')} for ${name}; ` +
            `scopes are ${SCOPES.join(', ')}`,
        );
      }
      return { name, secret, scopes: scopes as Scope[] };
    });
  const names = new Set(tokens.map((token) => token.name));
  if (names.size !== tokens.length) {
    throw new ConfigError('SERVICE_TOKENS: token names must be unique');
  }
  // One secret for two names would make the actor recorded in events ambiguous.
  const secrets = new Set(tokens.map((token) => token.secret));
  if (secrets.size !== tokens.length) {
    throw new ConfigError('SERVICE_TOKENS: each token needs a secret of its own');
  }
  if (tokens.length === 0) throw new ConfigError('SERVICE_TOKENS: no token given');
  return tokens;
};
