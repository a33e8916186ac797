import express, { type Router } from 'express';
import { AccountLinkingError } from '../domain/errors.js';
import type { Metrics } from './metrics.js';
import { methodNotAllowed } from './methods.js';
import { openApiDocument } from './openapi.js';

/** Health, readiness, metrics and the API description; no credentials needed. */
export const opsRoutes = (deps: {
  readiness: () => Promise<string | null>;
  metrics: Metrics;
}): Router => {
  const router = express.Router();
  const document = openApiDocument();

  router
    .route('/healthz')
    .get((_req, res) => {
      res.json({ status: 'ok' });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/readyz')
    .get(async (_req, res) => {
      const problem = await deps.readiness();
      if (problem) throw new AccountLinkingError('unavailable', problem);
      res.json({ status: 'ready' });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/metrics')
    .get(async (_req, res) => {
      res
        .type(deps.metrics.registry.contentType)
        .send(await deps.metrics.registry.metrics());
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.json(document);
    })
    .all(methodNotAllowed(['GET']));

  return router;
};
