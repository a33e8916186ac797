import express, { type Router } from 'express';
import { z } from 'zod';
import type { createProviderTokens } from '../application/providerTokens.js';
import { requireScope } from './callers.js';
import { methodNotAllowed } from './methods.js';
import { ProviderName, Subject, UserId } from './schemas.js';
import { validate } from './validation.js';

/**
 * `GET /api/users/<id>/connections/<provider>/token`: the current access token of a
 * user's connection, for trusted services with the `tokens` scope. `?subject=` picks one
 * when a user holds several identities of the provider.
 */
const TokenParams = z.object({ userId: UserId, provider: ProviderName });
const TokenQuery = z.object({ subject: Subject.optional() }).loose();

export const tokenRoutes = (deps: {
  tokens: ReturnType<typeof createProviderTokens>;
}): Router => {
  const router = express.Router();
  router
    .route('/api/users/:userId/connections/:provider/token')
    .get(requireScope('tokens'), async (req, res) => {
      const { userId, provider } = validate(TokenParams, req.params);
      const { subject } = validate(TokenQuery, req.query);
      const token = await deps.tokens.current(userId, provider, subject);
      res.setHeader('Cache-Control', 'no-store');
      res.json({
        provider: token.provider,
        subject: token.subject,
        accessToken: token.accessToken,
        scopes: token.scopes,
        expiresAt: token.expiresAt?.toISOString() ?? null,
      });
    })
    .all(methodNotAllowed(['GET']));
  return router;
};
