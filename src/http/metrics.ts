import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  commandDone(command: string, outcome: string, ms: number): void;
  projectionAt(position: bigint | null, head: bigint | null, now?: number): void;
}

/** Prometheus metrics of one service instance, on a registry of its own. */
export const createMetrics = (): Metrics => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const commands = new Counter({
    name: 'account_links_commands_total',
    help: 'Commands handled, by command and outcome (ok or an error code)',
    labelNames: ['command', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'account_links_command_seconds',
    help: 'Time to handle a command',
    labelNames: ['command'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  // Log positions are not counts of events (EventStoreDB's are commit offsets), so the
  // lag is told in time. Under a steady load the head is always a little ahead of what
  // the read model applied (it follows what was flushed, a moment later), so "not at the
  // head now" says nothing; what does is a head seen at an earlier sample and still not
  // applied. The lag is the age of the oldest such head.
  const behind = new Gauge({
    name: 'account_links_projection_behind',
    help: '1 while the read model has not applied a head of the log seen at an earlier sample, else 0',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'account_links_projection_lag_seconds',
    help: 'Seconds since the oldest head of the log the read model has not applied was seen (sampled)',
    registers: [registry],
  });
  // Heads seen and not yet applied, oldest first, with when each was first seen.
  const unapplied: { head: bigint; seenAt: number }[] = [];
  // A read model stuck for good adds one a sample; the oldest is all the lag needs.
  const MAX_UNAPPLIED = 1000;
  return {
    registry,
    commandDone: (command, outcome, ms) => {
      commands.inc({ command, outcome });
      duration.observe({ command }, ms / 1000);
    },
    projectionAt: (applied, head, now = Date.now()) => {
      while (unapplied.length > 0 && applied !== null && unapplied[0]!.head <= applied) {
        unapplied.shift();
      }
      const late = head !== null && (applied === null || applied < head);
      if (late && (unapplied.length === 0 || unapplied.at(-1)!.head < head)) {
        if (unapplied.length === MAX_UNAPPLIED) unapplied.splice(1, 1);
        unapplied.push({ head, seenAt: now });
      }
      const oldest = unapplied[0];
      const seconds = oldest ? (now - oldest.seenAt) / 1000 : 0;
      behind.set(seconds > 0 ? 1 : 0);
      lag.set(seconds);
    },
  };
};
