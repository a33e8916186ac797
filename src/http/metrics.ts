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
  // lag is told in time: how long the read model has been behind the log's head.
  const behind = new Gauge({
    name: 'account_links_projection_behind',
    help: '1 while the read model has not applied the head of the log, else 0',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'account_links_projection_lag_seconds',
    help: 'Seconds since the read model was last seen caught up with the log (sampled)',
    registers: [registry],
  });
  let caughtUpAt = Date.now();
  return {
    registry,
    commandDone: (command, outcome, ms) => {
      commands.inc({ command, outcome });
      duration.observe({ command }, ms / 1000);
    },
    projectionAt: (applied, head, now = Date.now()) => {
      const late = head !== null && (applied === null || applied < head);
      if (!late) caughtUpAt = now;
      behind.set(late ? 1 : 0);
      lag.set((now - caughtUpAt) / 1000);
    },
  };
};
