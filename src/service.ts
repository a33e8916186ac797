import { hkdfSync, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthTokenRefresh } from 'passport-oauth2-refresh';
import type { Strategy } from 'passport';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import type { Services } from './application/context.js';
import type { IdempotencyStore } from './application/idempotency.js';
import {
  createProviderTokens,
  type RefreshTokens,
} from './application/providerTokens.js';
import { startReconciler } from './application/reconciler.js';
import { startTokenSweeper } from './application/tokenSweep.js';
import type { SignInDecider } from './application/signIn.js';
import type {
  Config,
  OAuthProviderConfig,
  ProviderName,
  ServiceToken,
} from './config.js';
import { createDevProvider } from './devProvider/devProvider.js';
import type { EventStore } from './eventstore/port.js';
import { createApp } from './http/app.js';
import { createIdempotency } from './http/idempotency.js';
import { createPassport } from './http/auth/strategies.js';
import { createMetrics } from './http/metrics.js';
import { startProjectionRunner } from './projections/runner.js';
import type { DevelopmentSecrets } from './secrets.js';
import { openStores } from './stores.js';
import type { TokenVault } from './storage/tokenVault.js';

export interface RunningService {
  url: string;
  dataDir: string;
  /** Present when secrets were generated for development. */
  developmentSecrets: DevelopmentSecrets | null;
  /** True when the generated development service token is the one in use. */
  usesDevelopmentToken: boolean;
  /** The providers offered for sign-in, and whether the development stand-in plays them. */
  providers: ProviderName[];
  devProvider: boolean;
  services: Services;
  /** Where the read model, sessions and tokens live (for the start-up message). */
  sideStores: string;
  /** The provider tokens, sealed (for operations and tests). */
  vault: TokenVault;
  server: Server;
  /** Finishes in-flight requests, then closes every store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Replaces the clock (tests). */
  now?: () => Date;
  /** Replaces the SQLite event store (tests of other adapters, fault injection). */
  eventStore?: EventStore;
  /** Replaces the sign-in decision (the seed's override): see src/domain/signIn.ts. */
  decideSignIn?: SignInDecider;
  /** Wraps the Idempotency-Key store (fault injection in tests). */
  wrapIdempotencyStore?: (store: IdempotencyStore) => IdempotencyStore;
}

const DEV_PROVIDER_PATH = '/dev-oauth';

/** Waits until every promise has settled, or `ms` has passed. */
const settledWithin = async (work: Promise<unknown>[], ms: number): Promise<void> => {
  if (work.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(work),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
};

/**
 * Starts the service on its configuration: stores, read model (rebuilt from the log),
 * reconciler, sign-in and HTTP server. Used by `npm start` and by the tests alike.
 */
export const startService = async (
  config: Config,
  options: StartOptions = {},
): Promise<RunningService> => {
  const logger = options.logger ?? createLogger(config.logLevel);

  // 1. The stores, with secrets configured or generated for development; the read model
  //    replays the log before the service is ready.
  const stores = await openStores({ config, logger, eventStore: options.eventStore });
  const { dataDir, store, side, secrets } = stores;
  const tokens: ServiceToken[] = secrets.tokens;
  const sessionSecret = secrets.sessionSecret;
  const developmentSecrets = secrets.development;
  const { readModel } = stores;
  const { sessionStore, vault } = side;
  const idempotency =
    options.wrapIdempotencyStore?.(side.idempotency) ?? side.idempotency;
  const metrics = createMetrics();
  const projection = await startProjectionRunner({
    store,
    readModel,
    logger,
    leadership: side.leadership,
  });

  const services: Services = {
    store,
    readModel,
    projection,
    policy: config.policy,
    logger,
    now: options.now ?? (() => new Date()),
    passwords: { cost: config.passwordHashCost },
    repairGraceMs: config.repairGraceMs,
    maxAttempts: 12,
    underWay: new Set(),
    outsideLog: {
      removeTokens: async (identities) => {
        // The vault's own clock: tokens stored up to this millisecond go.
        const before = new Date(Date.now() + 1);
        for (const identity of identities) await vault.removeIfOlder(identity, before);
      },
      endSessions: (userId) => side.endSessionsOf(userId),
      forgetPersonalData: (userId) => side.dataKeys.destroy(userId),
    },
  };

  // 3. Ready once it listens, the log is replayed and half-done work from before settled.
  let ready = false;
  let reconciler: ReturnType<typeof startReconciler> | null = null;
  let sweeper: ReturnType<typeof startTokenSweeper> | null = null;
  let markListening: () => void = () => {};
  const listening = new Promise<void>((resolve) => (markListening = resolve));
  const readiness = Promise.all([projection.caughtUp, listening]).then(async () => {
    reconciler = startReconciler(services, logger, config.reconcileIntervalMs);
    await reconciler.firstPass;
    sweeper = startTokenSweeper({
      vault,
      readModel,
      now: services.now,
      logger,
      intervalMs: 10 * 60 * 1000,
    });
    ready = true;
    logger.info({ position: String((await readModel.position()) ?? 0n) }, 'ready');
  });
  readiness.catch((error: unknown) => logger.error({ err: error }, 'start-up failed'));

  const timers = [
    setInterval(
      () => {
        const before = new Date(Date.now() - config.idempotencyTtlHours * 3_600_000);
        void idempotency.purge(before).catch((error: unknown) => {
          logger.error({ err: error }, 'idempotency purge failed');
        });
      },
      60 * 60 * 1000,
    ),
    setInterval(() => {
      void Promise.all([readModel.position(), store.headPosition()])
        .then(([applied, head]) => metrics.projectionAt(applied, head))
        .catch(() => {});
    }, 5000),
  ];
  timers.forEach((timer) => timer.unref());

  // 4. The HTTP server listens first: the OAuth endpoints need its address.
  // Receiving a request (headers and body) is bounded too: a slow sender holds no socket
  // for longer than a request may take.
  const server = createServer({
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: Math.min(config.requestTimeoutMs, 20_000),
    // Node looks for overdue requests every 30 s by default: a 3 s limit held 18 s.
    connectionsCheckingInterval: 1_000,
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, done);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const loopback = `http://127.0.0.1:${address.port}`;

  // 5. Sign-in: the configured providers, or the development stand-in playing both.
  const dev = config.devProvider ? developmentProvider(loopback) : null;
  const providerConfigs = dev ? dev.providers : config.providers;
  const providers = Object.keys(providerConfigs) as ProviderName[];
  if (dev) {
    logger.warn(
      'development OAuth provider is on: GitHub and Google are played by a local stand-in ' +
        `at ${DEV_PROVIDER_PATH} (configure client ids, or NODE_ENV=production, to turn it off)`,
    );
  }
  const passport = createPassport({
    services,
    providers: providerConfigs,
    publicUrl: config.publicUrl,
  });
  const refresher = new AuthTokenRefresh();
  for (const name of providers) {
    refresher.use(
      name,
      (passport as unknown as { _strategy(n: string): Strategy })._strategy(name),
    );
  }
  const refresh: RefreshTokens = (provider, refreshToken) =>
    new Promise((done, fail) =>
      refresher.requestNewAccessToken(
        provider,
        refreshToken,
        (error, accessToken, newRefresh, params) => {
          if (error || !accessToken)
            return fail(new Error('the provider refused the refresh'));
          const seconds = Number(params?.expires_in);
          done({
            accessToken,
            refreshToken: newRefresh || null,
            scopes:
              typeof params?.scope === 'string' ? params.scope.split(/[ ,]+/) : null,
            expiresAt: Number.isFinite(seconds)
              ? new Date(services.now().getTime() + seconds * 1000)
              : null,
          });
        },
      ),
    );

  const app = createApp({
    services,
    idempotency: createIdempotency({
      store: idempotency,
      secret: Buffer.from(
        hkdfSync('sha256', sessionSecret, '', 'account-links idempotency', 32),
      ),
    }),
    metrics,
    tokens,
    logger,
    started: () => ready,
    readiness: async () => {
      if (!ready) return 'still replaying the log';
      if (!projection.healthy()) return 'the read model cannot follow the log';
      // The stores answer (a dead EventStoreDB or MongoDB makes every command fail).
      const answered = await Promise.race([
        Promise.all([store.headPosition(), readModel.position()]).then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
      ]);
      return answered ? null : 'a store does not answer';
    },
    trustProxy: config.trustProxy,
    minPositionWaitMs: config.minPositionWaitMs,
    limits: {
      apiRateLimitPerMinute: config.apiRateLimitPerMinute,
      maxInFlightCommands: config.maxInFlightCommands,
      requestTimeoutMs: config.requestTimeoutMs,
    },
    production: config.production,
    browser: {
      passport,
      providers,
      authorizationOrigins: Object.values(providerConfigs)
        .map((provider) => new URL(provider.authorizationURL, url).origin)
        .filter((origin) => origin !== new URL(url).origin),
      sessionStore,
      sessionSecrets: [sessionSecret],
      sessionTtlMs: config.sessionTtlHours * 3_600_000,
      vault,
      providerTokens: createProviderTokens({ services, vault, refresh }),
      decide: options.decideSignIn,
      authRateLimitPerMinute: config.authRateLimitPerMinute,
      devProvider: dev?.router ?? null,
    },
  });
  // Once stopping, every answer closes its connection, those on their way too: a client
  // keeping its connection alive would otherwise hold the server open with request after
  // request until the forced close.
  let draining = false;
  const unanswered = new Set<ServerResponse>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
    else {
      unanswered.add(res);
      res.once('close', () => unanswered.delete(res));
    }
    app(req, res);
  });
  markListening();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      draining = true;
      for (const res of unanswered)
        if (!res.headersSent) res.setHeader('Connection', 'close');
      timers.forEach((timer) => clearInterval(timer));
      // In-flight requests finish; idle keep-alive connections are closed now.
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(force);
      // Every connection is closed, but a command whose client hung up may still be
      // writing: the stores close after it (a store closed under it left half-done work).
      await settledWithin([...(services.underWay ?? [])], 10_000);
      await readiness.catch(() => {});
      await (reconciler as ReturnType<typeof startReconciler> | null)?.stop();
      (sweeper as ReturnType<typeof startTokenSweeper> | null)?.stop();
      await projection.stop();
      await stores.close();
      logger.info('stopped');
    })());

  return {
    url,
    dataDir,
    developmentSecrets,
    usesDevelopmentToken: !config.serviceTokens,
    providers,
    devProvider: dev !== null,
    services,
    sideStores: side.description,
    vault,
    server,
    stop,
  };
};

/**
 * The built-in stand-in for GitHub and Google. The browser is sent to it by a relative
 * URL (it is on this very server); the strategies reach its token and profile endpoints
 * over loopback.
 */
const developmentProvider = (loopback: string) => {
  const clients = {
    github: { clientId: 'dev-github', clientSecret: randomBytes(16).toString('hex') },
    google: { clientId: 'dev-google', clientSecret: randomBytes(16).toString('hex') },
  };
  const provider = createDevProvider({ clients, basePath: DEV_PROVIDER_PATH });
  const base = `${loopback}${DEV_PROVIDER_PATH}`;
  const providers: Record<ProviderName, OAuthProviderConfig> = {
    github: {
      ...clients.github,
      authorizationURL: `${DEV_PROVIDER_PATH}/github/login/oauth/authorize`,
      tokenURL: `${base}/github/login/oauth/access_token`,
      userProfileURL: `${base}/github/api/user`,
      userEmailURL: `${base}/github/api/user/emails`,
    },
    google: {
      ...clients.google,
      authorizationURL: `${DEV_PROVIDER_PATH}/google/o/oauth2/v2/auth`,
      tokenURL: `${base}/google/token`,
      userProfileURL: `${base}/google/v1/userinfo`,
    },
  };
  return { router: provider.router, providers };
};
