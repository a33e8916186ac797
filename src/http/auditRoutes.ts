import express, { type Router } from 'express';
import { z } from 'zod';
import { exportLog } from '../audit/export.js';
import { auditData, userHistory, userStateAt } from '../audit/history.js';
import { identityHistory } from '../audit/identityHistory.js';
import { verifyLog } from '../audit/verify.js';
import { AccountLinkingError } from '../domain/errors.js';
import type { EventStore } from '../eventstore/port.js';
import { requireScope } from './callers.js';
import { methodNotAllowed } from './methods.js';
import { MinPosition, ProviderName, Subject, UserId } from './schemas.js';
import { validate } from './validation.js';
import { userView } from './views.js';

const AtQuery = z.object({ at: z.iso.datetime({ offset: true }) }).loose();
const SinceQuery = z.object({ since: MinPosition }).loose();
const IdentityParams = z.object({ provider: ProviderName, subject: Subject });

/** Audit routes read the log itself, never the read model, which may lag. */
export const auditRoutes = (deps: {
  store: EventStore;
  identitiesPerProvider: number;
}): Router => {
  const router = express.Router();
  // A person may read their own history too.
  const audit = requireScope('audit', { ownUserParam: 'userId' });

  router
    .route('/api/audit/users/:userId/events')
    .get(audit, async (req, res) => {
      const userId = validate(UserId, req.params.userId, 'userId');
      const events = await userHistory(deps.store, userId);
      if (events.length === 0)
        throw new AccountLinkingError('user-not-found', 'no such user');
      res.json({
        events: events.map((event) => ({
          stream: event.stream,
          revision: event.revision,
          position: event.position.toString(),
          type: event.type,
          data: auditData(event.data),
          metadata: {
            actor: event.metadata.actor,
            flow: event.metadata.flow,
            correlationId: event.metadata.correlationId,
            causationId: event.metadata.causationId,
            requestId: event.metadata.requestId,
            time: event.metadata.time,
            schemaVersion: event.metadata.schemaVersion,
          },
        })),
      });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/audit/users/:userId/state')
    .get(audit, async (req, res) => {
      const userId = validate(UserId, req.params.userId, 'userId');
      const { at } = validate(AtQuery, req.query);
      const doc = await userStateAt(deps.store, userId, new Date(at));
      if (!doc) {
        throw new AccountLinkingError(
          'user-not-found',
          'the user did not exist at that time',
        );
      }
      res.json(userView(doc));
    })
    .all(methodNotAllowed(['GET']));

  // Operators' routes: the audit scope, never a browser session.
  const operators = requireScope('audit');

  const holdings = async (provider: unknown, subject: unknown) => {
    const identity = validate(IdentityParams, {
      provider,
      subject,
    });
    const holders = await identityHistory(deps.store, identity);
    if (holders.length === 0) {
      throw new AccountLinkingError('identity-not-found', 'this identity was never seen');
    }
    return { ...identity, holders };
  };

  router
    .route('/api/audit/identities/:provider/:subject')
    .get(operators, async (req, res) => {
      res.json(await holdings(req.params.provider, req.params.subject));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/audit/identities')
    .get(operators, async (req, res) => {
      res.json(await holdings(req.query.provider, req.query.subject));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/audit/verify')
    .get(operators, async (_req, res) => {
      const report = await verifyLog({
        store: deps.store,
        identitiesPerProvider: deps.identitiesPerProvider,
      });
      res.json(report);
    })
    .all(methodNotAllowed(['GET']));

  // The log as JSON lines, for an external audit system; `since` is exclusive.
  router
    .route('/api/audit/export')
    .get(operators, async (req, res) => {
      const { since } = validate(SinceQuery, req.query);
      res.type('application/x-ndjson');
      for await (const event of exportLog(
        deps.store,
        since === undefined ? null : BigInt(since),
      )) {
        if (!res.write(`${JSON.stringify(event)}\n`)) {
          await new Promise((resolve) => res.once('drain', resolve));
        }
      }
      res.end();
    })
    .all(methodNotAllowed(['GET']));

  return router;
};
