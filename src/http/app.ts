import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Services } from '../application/context.js';
import type { IdempotencyStore } from '../application/idempotency.js';
import type { ServiceToken } from '../config.js';
import { AccountLinkingError } from '../domain/errors.js';
import { auditRoutes } from './auditRoutes.js';
import { serviceTokenAuth } from './callers.js';
import { commandRoutes } from './commandRoutes.js';
import type { Metrics } from './metrics.js';
import { opsRoutes } from './opsRoutes.js';
import { problemHandler } from './problems.js';
import { queryRoutes } from './queryRoutes.js';
import { correlation, requestIdOf } from './requestIds.js';

export interface AppDeps {
  services: Services;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  tokens: ServiceToken[];
  logger: Logger;
  isReady: () => boolean;
  trustProxy: boolean;
  minPositionWaitMs: number;
}

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The Express application: operations routes, then the authenticated API. */
export const createApp = (deps: AppDeps): Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy);

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: requestIdOf,
      autoLogging: { ignore: (req) => QUIET_PATHS.has(req.url ?? '') },
      // Paths without query strings: a query may carry an email address.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
        }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500
          ? 'error'
          : res.statusCode >= 400
            ? 'info'
            : 'info',
    }),
  );
  app.use(correlation);
  app.use(helmet());

  app.use(opsRoutes({ isReady: deps.isReady, metrics: deps.metrics }));
  app.use('/api', serviceTokenAuth(deps.tokens));
  app.use(
    commandRoutes({
      services: deps.services,
      idempotency: deps.idempotency,
      metrics: deps.metrics,
    }),
  );
  app.use(
    queryRoutes({
      readModel: deps.services.readModel,
      projection: deps.services.projection,
      minPositionWaitMs: deps.minPositionWaitMs,
    }),
  );
  app.use(auditRoutes({ store: deps.services.store }));

  app.use(() => {
    throw new AccountLinkingError('not-found', 'there is nothing at this path');
  });
  app.use(problemHandler);
  return app;
};
