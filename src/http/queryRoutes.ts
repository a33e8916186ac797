import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { EventStore } from '../eventstore/port.js';
import type { ProjectionRunner } from '../projections/runner.js';
import type { ReadModel } from '../projections/port.js';
import { AccountLinkingError } from '../domain/errors.js';
import { requireScope } from './callers.js';
import { methodNotAllowed } from './methods.js';
import { MinPosition, ProviderName, Subject, TrimmedEmail, UserId } from './schemas.js';
import { validate } from './validation.js';
import { identityView, userView } from './views.js';

// Built once: a zod schema built per request costs about 100 times its parse.
const PositionQuery = z.object({ minPosition: MinPosition }).loose();
const IdentityParams = z.object({ provider: ProviderName, subject: Subject });
const EmailQuery = z.object({ email: TrimmedEmail }).loose();

/** The read-model queries. `minPosition` makes a query wait for a command's effect. */
export const queryRoutes = (deps: {
  readModel: ReadModel;
  projection: Pick<ProjectionRunner, 'waitFor'>;
  store: Pick<EventStore, 'headPosition'>;
  minPositionWaitMs: number;
}): Router => {
  const router = express.Router();
  const queries = requireScope('queries');
  const ownUser = requireScope('queries', { ownUserParam: 'userId' });

  const awaitPosition = async (req: Request): Promise<void> => {
    const { minPosition } = validate(PositionQuery, req.query);
    if (minPosition === undefined) return;
    // A position past the log's head came from no answer of this log: waiting cannot help.
    const head = await deps.store.headPosition();
    if (BigInt(minPosition) > (head ?? 0n)) {
      throw new AccountLinkingError('validation-failed', 'the request is not valid', {
        errors: [
          {
            path: 'minPosition',
            message: `beyond the end of the log (its last position is ${head ?? 'none'})`,
          },
        ],
      });
    }
    const reached = await deps.projection.waitFor(
      BigInt(minPosition),
      deps.minPositionWaitMs,
    );
    if (!reached) {
      throw new AccountLinkingError(
        'projection-lagging',
        'the read model has not reached minPosition yet; try again',
      );
    }
  };

  const identity = async (provider: unknown, subject: unknown) => {
    const key = validate(IdentityParams, { provider, subject });
    const doc = await deps.readModel.getIdentity(key);
    if (!doc) throw new AccountLinkingError('identity-not-found', 'no such identity');
    return identityView(doc);
  };

  router
    .route('/api/users/:userId')
    .get(ownUser, async (req, res) => {
      const userId = validate(UserId, req.params.userId, 'userId');
      await awaitPosition(req);
      const doc = await deps.readModel.getUser(userId);
      if (!doc) throw new AccountLinkingError('user-not-found', 'no such user');
      res.setHeader('ETag', `W/"${doc.revision}"`);
      res.json(userView(doc));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/users')
    .get(queries, async (req, res) => {
      const { email } = validate(EmailQuery, req.query);
      await awaitPosition(req);
      const users = await deps.readModel.findUsersByEmail(email);
      // Oldest first, whichever store answered and in whatever order it found them.
      users.sort(
        (a, b) =>
          a.createdAt.localeCompare(b.createdAt) || a.userId.localeCompare(b.userId),
      );
      res.json({ users: users.map(userView) });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/identities/:provider/:subject')
    .get(queries, async (req, res) => {
      await awaitPosition(req);
      res.json(await identity(req.params.provider, req.params.subject));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/identities')
    .get(queries, async (req, res) => {
      await awaitPosition(req);
      res.json(await identity(req.query.provider, req.query.subject));
    })
    .all(methodNotAllowed(['GET']));

  return router;
};
