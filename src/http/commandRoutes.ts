import { createHash, randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { v5 as uuidv5 } from 'uuid';
import type { Command } from '../application/commands/index.js';
import { runCommand } from '../application/commands/index.js';
import type { Services } from '../application/context.js';
import type { IdempotencyStore } from '../application/idempotency.js';
import type { CommandResult } from '../application/result.js';
import { AccountLinkingError, isAccountLinkingError } from '../domain/errors.js';
import { callerOf, requireScope, type Caller } from './callers.js';
import type { Metrics } from './metrics.js';
import { methodNotAllowed } from './methods.js';
import { problemOf } from './problems.js';
import { commandSchemas, type CommandName } from './schemas.js';
import { validate } from './validation.js';

const COMMAND_ID_NAMESPACE = '0d9a4f8e-2b71-4c35-8e06-5b3f9a1c7d24';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const REVISION_TAG = /^(?:W\/)?"(\d{1,15})"$/;
const REGISTER_COMMANDS: CommandName[] = ['register-local-user', 'register-via-provider'];

interface Answer {
  status: number;
  body: unknown;
  problem: boolean;
}

/** `POST /api/commands/<name>`: validate, apply Idempotency-Key and If-Match, run. */
export const commandRoutes = (deps: {
  services: Services;
  idempotency: IdempotencyStore;
  metrics: Metrics;
}): Router => {
  const router = express.Router();
  const inFlight = new Map<string, Promise<unknown>>();
  const json = express.json({ limit: '1mb', strict: true });

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

        const commandName = name as CommandName;
        const caller = callerOf(res);
        const key = req.get('idempotency-key');
        const answer = key
          ? await withIdempotency(key)
          : await execute(randomUUID(), false);
        send(res, answer);

        async function execute(commandId: string, idempotent: boolean): Promise<Answer> {
          const started = performance.now();
          try {
            const input = validate(commandSchemas[commandName], req.body ?? {});
            assertSessionMayRun(caller, commandName, input);
            const expectedRevision = ifMatchOf(req, commandName);
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
              { name: commandName, input } as Command,
              expectedRevision,
            );
            deps.metrics.commandDone(commandName, 'ok', performance.now() - started);
            req.log.info(
              { command: commandName, userId: result.userId, events: result.events },
              'command done',
            );
            return {
              status: result.created ? 201 : 200,
              body: answerBody(result),
              problem: false,
            };
          } catch (error) {
            if (!isAccountLinkingError(error)) throw error;
            deps.metrics.commandDone(
              commandName,
              error.code,
              performance.now() - started,
            );
            req.log.info({ command: commandName, code: error.code }, 'command refused');
            const problem = problemOf(error, req.originalUrl);
            return { status: problem.status, body: problem, problem: true };
          }
        }

        async function withIdempotency(rawKey: string): Promise<Answer> {
          if (!IDEMPOTENCY_KEY.test(rawKey)) {
            throw new AccountLinkingError(
              'validation-failed',
              'invalid Idempotency-Key',
              {
                errors: [
                  {
                    path: 'Idempotency-Key',
                    message: '1 to 255 visible ASCII characters',
                  },
                ],
              },
            );
          }
          const requestHash = hashRequest(commandName, req.body);
          const lock = `${caller.name}\n${rawKey}`;
          // Requests with the same key wait for each other, then read the stored answer.
          while (inFlight.has(lock)) await inFlight.get(lock)!.catch(() => {});
          const running = (async () => {
            const record = await deps.idempotency.reserve(
              caller.name,
              rawKey,
              requestHash,
            );
            if (record.requestHash !== requestHash) {
              throw new AccountLinkingError(
                'idempotency-key-reused',
                'this Idempotency-Key was used with another request',
              );
            }
            if (record.status !== null && record.body !== null) {
              res.setHeader('Idempotent-Replayed', 'true');
              const body = JSON.parse(record.body) as unknown;
              return { status: record.status, body, problem: record.status >= 400 };
            }
            const answer = await execute(commandIdFor(caller.name, rawKey), true);
            if (isFinal(answer.status)) {
              await deps.idempotency.complete(
                caller.name,
                rawKey,
                answer.status,
                JSON.stringify(answer.body),
              );
            }
            return answer;
          })();
          inFlight.set(lock, running);
          try {
            return await running;
          } finally {
            inFlight.delete(lock);
          }
        }
      },
    )
    .all(methodNotAllowed(['POST']));

  return router;
};

// A browser session may unlink its own identities and erase itself; linking needs the
// OAuth flow (proof of the identity), and creating users is for trusted services.
const SESSION_COMMANDS: CommandName[] = ['unlink-provider', 'erase-user'];

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
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    throw new AccountLinkingError(
      'unsupported-media-type',
      'send the command as application/json',
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

// 5xx answers are not final: the same key may be tried again.
const isFinal = (status: number): boolean => status < 500;

const answerBody = (result: CommandResult) => ({
  userId: result.userId,
  revision: result.revision,
  position: result.position.toString(),
  events: result.events,
});

const send = (res: Response, answer: Answer): void => {
  res.status(answer.status);
  if (answer.problem) res.type('application/problem+json');
  res.json(answer.body);
};

/** The command id an Idempotency-Key stands for: the same key, the same ids in the log. */
export const commandIdFor = (caller: string, key: string): string =>
  uuidv5(`${caller}\n${key}`, COMMAND_ID_NAMESPACE);

/** Same command and same JSON (keys in any order) give the same hash. */
export const hashRequest = (name: string, body: unknown): string =>
  createHash('sha256')
    .update(`${name}\n${canonicalJson(body ?? {})}`)
    .digest('hex');

const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
};
