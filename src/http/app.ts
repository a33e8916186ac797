import express, {
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import helmet from 'helmet';
import type { Passport } from 'passport';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { csrfSync } from 'csrf-sync';
import type { Services } from '../application/context.js';
import type { createProviderTokens } from '../application/providerTokens.js';
import type { SignInDecider } from '../application/signIn.js';
import type { ProviderName, ServiceToken } from '../config.js';
import { AccountLinkingError } from '../domain/errors.js';
import type { TokenVault } from '../storage/tokenVault.js';
import { auditRoutes } from './auditRoutes.js';
import { browserRoutes } from './auth/authRoutes.js';
import { authenticateCaller, callerOf } from './callers.js';
import { commandRoutes } from './commandRoutes.js';
import type { createIdempotency } from './idempotency.js';
import type { Metrics } from './metrics.js';
import { declaredBodyLimit, requestDeadline } from './limits.js';
import { MAX_BODY_BYTES } from './commandRoutes.js';
import { opsRoutes } from './opsRoutes.js';
import { problemHandler } from './problems.js';
import { queryRoutes } from './queryRoutes.js';
import { correlation, requestIdOf } from './requestIds.js';
import { tokenRoutes } from './tokenRoutes.js';

export interface AppDeps {
  services: Services;
  idempotency: ReturnType<typeof createIdempotency>;
  metrics: Metrics;
  tokens: ServiceToken[];
  logger: Logger;
  /** Why the service cannot take traffic now, or null when it can. */
  readiness: () => Promise<string | null>;
  /** True once the service has started (log replayed, half-done work settled). */
  started: () => boolean;
  trustProxy: boolean | number | string;
  minPositionWaitMs: number;
  production: boolean;
  limits: {
    apiRateLimitPerMinute: number;
    maxInFlightCommands: number;
    requestTimeoutMs: number;
  };
  browser: {
    passport: InstanceType<typeof Passport>;
    providers: ProviderName[];
    /** Origins the browser is sent to for sign-in (allowed as form targets). */
    authorizationOrigins: string[];
    sessionStore: session.Store;
    sessionSecrets: string[];
    sessionTtlMs: number;
    vault: TokenVault;
    providerTokens: ReturnType<typeof createProviderTokens>;
    decide?: SignInDecider;
    authRateLimitPerMinute: number;
    /** The development provider's router, mounted at /dev-oauth when it is on. */
    devProvider: express.Router | null;
  };
}

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const ANONYMOUS_SESSION_MS = 60 * 60 * 1000;

/**
 * The path as logged: no query string (it may carry an email or an OAuth code) and no
 * provider subject (a person's id at the provider).
 */
export const loggedPath = (url: string): string =>
  (url.split('?')[0] ?? '').replace(/^(\/api\/identities\/[^/]+\/)[^/]+/, '$1:subject');

/**
 * What every HTTP server of this project starts with (the benchmarks' baselines too):
 * request ids and correlation, a log line per request, and helmet's headers.
 */
export const httpFoundation = (
  logger: Logger,
  options: {
    trustProxy?: AppDeps['trustProxy'];
    production?: boolean;
    authorizationOrigins?: string[];
  } = {},
): Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy ?? false);

  app.use(
    pinoHttp({
      logger,
      genReqId: requestIdOf,
      autoLogging: { ignore: (req) => QUIET_PATHS.has(req.url ?? '') },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: loggedPath(req.url),
        }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
        // The answer's status says enough; failures worth a stack are logged where caught.
        err: (error: Error) => ({ message: error.message }),
      },
      customLogLevel: (_req, res, error) =>
        res.statusCode === 503
          ? 'warn'
          : error || res.statusCode >= 500
            ? 'error'
            : 'info',
    }),
  );
  app.use(correlation);
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Linking posts a form that redirects to the provider: allow its origin.
          'form-action': ["'self'", ...(options.authorizationOrigins ?? [])],
          'upgrade-insecure-requests': options.production ? [] : null,
        },
      },
      strictTransportSecurity: options.production ?? false,
    }),
  );
  return app;
};

/**
 * The Express application: operations routes, the development provider when it is on,
 * sessions, the API (service tokens or the signed-in session), then the browser pages.
 */
export const createApp = (deps: AppDeps): Express => {
  const { browser } = deps;
  const app = httpFoundation(deps.logger, {
    trustProxy: deps.trustProxy,
    production: deps.production,
    authorizationOrigins: browser.authorizationOrigins,
  });

  app.use(opsRoutes({ readiness: deps.readiness, metrics: deps.metrics }));
  app.use(requestDeadline(deps.limits.requestTimeoutMs));
  if (browser.devProvider) app.use('/dev-oauth', browser.devProvider);

  // Sessions: HttpOnly, SameSite=Lax, Secure when the request came over TLS. A service
  // calling the API with its token has no session: none is looked up for it.
  const browserOnly =
    (handler: RequestHandler): RequestHandler =>
    (req, res, next) =>
      req.headers.authorization !== undefined && req.path.startsWith('/api/')
        ? next()
        : handler(req, res, next);
  app.use(
    browserOnly(
      session({
        name: 'account_links.sid',
        secret: browser.sessionSecrets,
        store: browser.sessionStore,
        resave: false,
        saveUninitialized: false,
        cookie: {
          httpOnly: true,
          sameSite: 'lax',
          secure: 'auto',
          maxAge: browser.sessionTtlMs,
        },
      }),
    ),
  );
  app.use(browserOnly(browser.passport.initialize()));
  app.use(browserOnly(browser.passport.session()));
  // A visitor who never signs in keeps a session (for the forms' CSRF token) for an hour
  // only; signing in starts a new session with the full lifetime.
  app.use((req, _res, next) => {
    if (!req.user && req.session) req.session.cookie.maxAge = ANONYMOUS_SESSION_MS;
    next();
  });

  const csrf = csrfSync({
    getTokenFromRequest: (req: Request) =>
      (req.body as { _csrf?: string } | undefined)?._csrf ??
      (req.headers['x-csrf-token'] as string | undefined),
  });
  const limiter = (
    perMinute: number,
    keyGenerator?: (req: Request, res: Response) => string,
  ) =>
    rateLimit({
      windowMs: 60_000,
      limit: perMinute,
      ...(keyGenerator ? { keyGenerator } : {}),
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: () => {
        throw new AccountLinkingError('rate-limited', 'too many requests; wait a minute');
      },
    });
  const authLimit = limiter(browser.authRateLimitPerMinute);
  // Pages are cheap but each visit keeps a session: a looser limit of their own.
  const pageLimit = limiter(browser.authRateLimitPerMinute * 10);

  // The API, once the service is ready: before that the read model is still being built
  // and would answer "no such user" for users that exist.
  app.use('/api', authenticateCaller(deps.tokens, csrf.isRequestValid));
  app.use('/api', (_req, res, next) => {
    if (deps.started()) return next();
    res.setHeader('Retry-After', '1');
    throw new AccountLinkingError(
      'unavailable',
      'the service is starting (replaying the log); retry in a moment',
    );
  });
  // Per caller (a token's name, or the signed-in user), not per address: services behind
  // one proxy address do not share a budget.
  app.use(
    '/api',
    limiter(deps.limits.apiRateLimitPerMinute, (_req, res) => callerOf(res).name),
  );
  app.post('/api/commands/:name', declaredBodyLimit(MAX_BODY_BYTES));
  app.use(
    commandRoutes({
      services: deps.services,
      idempotency: deps.idempotency,
      metrics: deps.metrics,
      maxInFlight: deps.limits.maxInFlightCommands,
    }),
  );
  app.use(
    queryRoutes({
      readModel: deps.services.readModel,
      projection: deps.services.projection,
      store: deps.services.store,
      minPositionWaitMs: deps.minPositionWaitMs,
    }),
  );
  app.use(
    auditRoutes({
      store: deps.services.store,
      identitiesPerProvider: deps.services.policy.identitiesPerProvider,
    }),
  );
  app.use(tokenRoutes({ tokens: browser.providerTokens }));
  app.use('/api', () => {
    throw new AccountLinkingError('not-found', 'there is nothing at this path');
  });

  // The browser side.
  app.use(
    browserRoutes({
      services: deps.services,
      passport: browser.passport,
      providers: browser.providers,
      vault: browser.vault,
      decide: browser.decide,
      csrfProtection: csrf.csrfSynchronisedProtection,
      csrfToken: (req) => csrf.generateToken(req),
      rateLimit: authLimit,
      pageLimit,
      devProvider: browser.devProvider !== null,
    }),
  );

  app.use(() => {
    throw new AccountLinkingError('not-found', 'there is nothing at this path');
  });
  app.use(problemHandler);
  return app;
};
