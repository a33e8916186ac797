import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Command } from '../application/commands/index.js';
import { runCommand } from '../application/commands/index.js';
import type { Services } from '../application/context.js';
import type { CommandResult } from '../application/result.js';
import { AccountLinkingError, isAccountLinkingError } from '../domain/errors.js';
import { callerOf, requireScope, type Caller } from './callers.js';
import type { Answer, createIdempotency } from './idempotency.js';
import type { Metrics } from './metrics.js';
import { methodNotAllowed } from './methods.js';
import { problemOf } from './problems.js';
import { commandSchemas, type CommandName } from './schemas.js';
import { inFlightLimit } from './limits.js';
import { validate } from './validation.js';

/** The largest command body taken (1 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

const REVISION_TAG = /^(?:W\/)?"(\d{1,15})"$/;
const REGISTER_COMMANDS: CommandName[] = ['register-local-user', 'register-via-provider'];
const JSON_TYPES = ['application/json', 'application/*+json'];

// A browser session may unlink its own identities and erase itself; linking needs the
// OAuth flow (proof of the identity), and creating users is for trusted services.
const SESSION_COMMANDS: CommandName[] = ['unlink-provider', 'erase-user'];

/** `POST /api/commands/<name>`: validate, apply Idempotency-Key and If-Match, run. */
export const commandRoutes = (deps: {
  services: Services;
  idempotency: ReturnType<typeof createIdempotency>;
  metrics: Metrics;
  maxInFlight: number;
}): Router => {
  const router = express.Router();
  // Taken once the body has arrived: a client sending its body slowly (or never) holds a
  // socket until Node's request timeout, not one of the command slots.
  const slot = inFlightLimit(deps.maxInFlight);
  // Any JSON value is read (a body of `null` is then refused by validation, with a 422).
  const json = express.json({ limit: MAX_BODY_BYTES, strict: false, type: JSON_TYPES });

  const execute = async (
    req: Request,
    res: Response,
    name: CommandName,
    commandId: string,
    idempotent: boolean,
  ): Promise<Answer> => {
    const started = performance.now();
    const caller = callerOf(res);
    try {
      const input = validate(
        commandSchemas[name],
        req.body === undefined ? {} : req.body,
      );
      assertSessionMayRun(caller, name, input);
      const result = await runCommand(
        deps.services,
        {
          actor: caller.kind === 'session' ? caller.userId : caller.name,
          flow: 'api',
          correlationId: res.locals.correlationId as string,
          requestId: res.locals.requestId as string,
          commandId,
          idempotent,
        },
        { name, input } as Command,
        ifMatchOf(req, name),
      );
      deps.metrics.commandDone(name, 'ok', performance.now() - started);
      req.log.info(
        { command: name, userId: result.userId, events: result.events },
        'command done',
      );
      return {
        status: result.created ? 201 : 200,
        body: answerBody(result),
        problem: false,
      };
    } catch (error) {
      if (!isAccountLinkingError(error)) throw error;
      deps.metrics.commandDone(name, error.code, performance.now() - started);
      req.log.info({ command: name, code: error.code }, 'command refused');
      const problem = problemOf(error, req.originalUrl);
      return { status: problem.status, body: problem, problem: true };
    }
  };

  router
    .route('/api/commands/:name')
    .post(
      requireScope('commands', { deferred: true }),
      async (req: Request, res: Response) => {
        const name = req.params.name as string;
        if (!Object.hasOwn(commandSchemas, name)) {
          throw new AccountLinkingError('unknown-command', `there is no command ${name}`);
        }
        assertJsonBody(req);
        await new Promise<void>((resolve, reject) =>
          json(req, res, (error?: unknown) => (error ? reject(error) : resolve())),
        );
        assertShallow(req.body);
        await new Promise<void>((resolve, reject) => {
          slot(req, res, (error?: unknown) => (error ? reject(error) : resolve()));
        });

        const commandName = name as CommandName;
        const key = req.get('idempotency-key');
        const answer =
          key === undefined
            ? await execute(req, res, commandName, randomUUID(), false)
            : await deps.idempotency.run(
                callerOf(res).name,
                key,
                name,
                req.body,
                (commandId) => execute(req, res, commandName, commandId, true),
              );
        if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
        res.status(answer.status);
        if (answer.problem) res.type('application/problem+json');
        res.json(answer.body);
      },
    )
    .all(methodNotAllowed(['POST']));

  return router;
};

const assertSessionMayRun = (caller: Caller, name: CommandName, input: unknown): void => {
  if (caller.kind !== 'session') return;
  const own = (input as { userId?: string }).userId === caller.userId;
  if (!SESSION_COMMANDS.includes(name) || !own) {
    throw new AccountLinkingError(
      'forbidden',
      'a browser session may not run this command',
    );
  }
};

const assertJsonBody = (req: Request): void => {
  const hasBody =
    Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding');
  if (hasBody && !req.is(JSON_TYPES)) {
    throw new AccountLinkingError(
      'unsupported-media-type',
      'send the command as application/json',
    );
  }
};

/**
 * No command nests deeper than a profile in its body. A deeper one is refused before
 * anything walks it: comparing Idempotency-Key requests walks the whole body recursively,
 * and ran out of stack (a 500) from about 5,000 levels (a 10 KB body of `[`). Measured
 * level by level, without recursion.
 */
const MAX_BODY_DEPTH = 16;

const assertShallow = (body: unknown): void => {
  let level: unknown[] = [body];
  for (let depth = 0; level.length > 0; depth += 1) {
    if (depth > MAX_BODY_DEPTH) {
      throw new AccountLinkingError(
        'validation-failed',
        'the body is nested too deeply',
        {
          errors: [
            { path: '(body)', message: `nested more than ${MAX_BODY_DEPTH} levels deep` },
          ],
        },
      );
    }
    level = level.flatMap((value) =>
      value !== null && typeof value === 'object' ? Object.values(value) : [],
    );
  }
};

const ifMatchOf = (req: Request, name: CommandName): number | undefined => {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  if (REGISTER_COMMANDS.includes(name)) {
    throw new AccountLinkingError('validation-failed', 'If-Match does not apply here', {
      errors: [{ path: 'If-Match', message: 'a register command creates the stream' }],
    });
  }
  const match = REVISION_TAG.exec(header.trim());
  if (!match) {
    throw new AccountLinkingError('validation-failed', 'invalid If-Match', {
      errors: [{ path: 'If-Match', message: 'must be a quoted revision, like "3"' }],
    });
  }
  return Number(match[1]);
};

const answerBody = (result: CommandResult) => ({
  userId: result.userId,
  revision: result.revision,
  position: result.position.toString(),
  events: result.events,
});
