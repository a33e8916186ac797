import { createHmac } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { IdempotencyStore } from '../application/idempotency.js';
import { AccountLinkingError } from '../domain/errors.js';

const COMMAND_ID_NAMESPACE = '0d9a4f8e-2b71-4c35-8e06-5b3f9a1c7d24';
const KEY = /^[\x21-\x7e]{1,255}$/;

export interface Answer {
  status: number;
  body: unknown;
  problem: boolean;
  replayed?: boolean;
}

/**
 * Idempotency-Key handling: the first final answer to a (caller, key) is kept and given
 * again for the same request. Requests are compared by an HMAC of the command and its
 * canonical JSON, keyed with a server secret: a stored hash tells nothing about a
 * password in the body.
 */
export const createIdempotency = (deps: { store: IdempotencyStore; secret: Buffer }) => {
  const inFlight = new Map<string, Promise<unknown>>();

  const hashRequest = (name: string, body: unknown): string =>
    createHmac('sha256', deps.secret)
      .update(`${name}\n${canonicalJson(body ?? {})}`)
      .digest('hex');

  return {
    hashRequest,
    /**
     * Runs `execute` at most once per (caller, key, request) and answers repeats from the
     * store. The command id depends on the request too, so a key reused for another
     * request after its record expired starts a new command.
     */
    run: async (
      caller: string,
      key: string,
      name: string,
      body: unknown,
      execute: (commandId: string) => Promise<Answer>,
    ): Promise<Answer> => {
      if (!KEY.test(key)) {
        throw new AccountLinkingError('validation-failed', 'invalid Idempotency-Key', {
          errors: [
            { path: 'Idempotency-Key', message: '1 to 255 visible ASCII characters' },
          ],
        });
      }
      const requestHash = hashRequest(name, body);
      const lock = `${caller}\n${key}`;
      // Requests with the same key wait for each other, then read the stored answer.
      while (inFlight.has(lock)) await inFlight.get(lock)!.catch(() => {});

      const running = (async (): Promise<Answer> => {
        const record = await deps.store.reserve(caller, key, requestHash);
        if (record.requestHash !== requestHash) {
          throw new AccountLinkingError(
            'idempotency-key-reused',
            'this Idempotency-Key was used with another request',
          );
        }
        if (record.status !== null && record.body !== null) {
          return {
            status: record.status,
            body: JSON.parse(record.body) as unknown,
            problem: record.status >= 400,
            replayed: true,
          };
        }
        const answer = await execute(commandIdFor(caller, key, requestHash));
        if (isFinal(answer)) {
          await deps.store.complete(
            caller,
            key,
            answer.status,
            JSON.stringify(answer.body),
          );
        } else {
          await deps.store.forget(caller, key);
        }
        return answer;
      })();
      inFlight.set(lock, running);
      try {
        return await running;
      } finally {
        inFlight.delete(lock);
      }
    },
  };
};

/** The command id of a keyed request: the same request, the same ids in the log. */
export const commandIdFor = (caller: string, key: string, requestHash: string): string =>
  uuidv5(`${caller}\n${key}\n${requestHash}`, COMMAND_ID_NAMESPACE);

// A 5xx may be retried with the same key; a request that failed validation did nothing,
// so it may be corrected and sent again with the same key.
const isFinal = (answer: Answer): boolean =>
  answer.status < 500 && (answer.body as { code?: string }).code !== 'validation-failed';

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
