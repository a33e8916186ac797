import express, { type Router } from 'express';
import { z } from 'zod';
import { auditData, userHistory, userStateAt } from '../audit/history.js';
import { AccountLinkingError } from '../domain/errors.js';
import type { EventStore } from '../eventstore/port.js';
import { requireScope } from './callers.js';
import { methodNotAllowed } from './methods.js';
import { UserId } from './schemas.js';
import { validate } from './validation.js';
import { userView } from './views.js';

/** Audit routes read the log itself, never the read model, which may lag. */
export const auditRoutes = (deps: { store: EventStore }): Router => {
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
      const { at } = validate(
        z.object({ at: z.iso.datetime({ offset: true }) }).loose(),
        req.query,
      );
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

  return router;
};
