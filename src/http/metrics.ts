import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  commandDone(command: string, outcome: string, ms: number): void;
  projectionAt(position: bigint | null, head: bigint | null): void;
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
  const position = new Gauge({
    name: 'account_links_projection_position',
    help: 'Log position the read model has applied',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'account_links_projection_lag',
    help: 'Log positions between the head of the log and the read model',
    registers: [registry],
  });
  return {
    registry,
    commandDone: (command, outcome, ms) => {
      commands.inc({ command, outcome });
      duration.observe({ command }, ms / 1000);
    },
    projectionAt: (applied, head) => {
      position.set(Number(applied ?? 0n));
      lag.set(Number((head ?? 0n) - (applied ?? 0n)));
    },
  };
};
