import { setTimeout as sleep } from 'node:timers/promises';
import { clientWorld, seededRandom, type SentCommand } from './commandMix.js';
import type { KilledService } from './killedService.js';

export interface LoadTally {
  /** Answers 5xx or 429, by status and code: retried with the same key. */
  retriedAnswers: Record<string, number>;
  /** Requests that failed while the service was up (not cut by a kill). */
  transportErrors: string[];
  /** Commands that found no final answer within the time allowed. */
  unfinished: number;
}

/**
 * Client loops sending commands one after another, each with an Idempotency-Key. A request
 * cut off by a kill is sent again, with the same key and body, once the service is back
 * (or, now and then, given up, leaving its half-done work to the reconciler). A 5xx answer
 * is retried too. Every final answer is recorded.
 */
export const startLoad = (options: {
  service: KilledService;
  token: string;
  loops: number;
  seed: number;
  tag: string;
  /** The share of cut-off commands that are given up rather than retried. */
  abandonShare: number;
}) => {
  const { service } = options;
  const sent: SentCommand[] = [];
  const tally: LoadTally = { retriedAnswers: {}, transportErrors: [], unfinished: 0 };
  let seq = 0;
  let stopping = false;

  const deliver = async (command: SentCommand, random: () => number) => {
    // Kills may cut a command any number of times. Once the load stops, the service stays
    // up, and every command must have its final answer within two minutes.
    let deadline = Number.POSITIVE_INFINITY;
    for (;;) {
      if (stopping && deadline === Number.POSITIVE_INFINITY) {
        deadline = Date.now() + 120_000;
      }
      if (Date.now() > deadline) {
        tally.unfinished += 1;
        return;
      }
      const up = await service.up();
      command.attempts += 1;
      try {
        const reply = await post(up.url, options.token, command);
        if (reply.status < 500 && reply.status !== 429) {
          command.status = reply.status;
          command.answer = reply.body;
          command.answeredBy = up.generation;
          return;
        }
        const label = `${reply.status} ${String(reply.body?.code ?? '')}`.trim();
        tally.retriedAnswers[label] = (tally.retriedAnswers[label] ?? 0) + 1;
        await sleep(50 + random() * 150);
      } catch (error) {
        if (service.generation() === up.generation) {
          tally.transportErrors.push(`${command.name}: ${String(error)}`);
          await sleep(100);
          continue;
        }
        command.cut += 1;
        if (!stopping && random() < options.abandonShare) {
          command.abandoned = true;
          return;
        }
      }
    }
  };

  const loop = async (index: number) => {
    const random = seededRandom(options.seed + index * 7919);
    const world = clientWorld({
      loop: index,
      tag: options.tag,
      random,
      nextSeq: () => (seq += 1),
    });
    while (!stopping) {
      const command = world.next();
      sent.push(command);
      await deliver(command, random);
      world.learn(command);
    }
    return world.expected();
  };

  const loops = Array.from({ length: options.loops }, (_, index) => loop(index));
  return {
    sent,
    tally,
    /** Sends no new command; resolves once every command sent has its final answer. */
    stop: async () => {
      stopping = true;
      return (await Promise.all(loops)).flat();
    },
  };
};

const post = async (
  url: string,
  token: string,
  command: SentCommand,
): Promise<{ status: number; body: Record<string, unknown> | null }> => {
  const res = await fetch(`${url}/api/commands/${command.name}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': command.key,
      'x-correlation-id': command.correlationId,
    },
    body: JSON.stringify(command.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
};
