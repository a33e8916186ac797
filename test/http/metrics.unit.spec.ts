import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';

const gauge = async (metrics: ReturnType<typeof createMetrics>, name: string) => {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
};

describe('projection metrics', () => {
  it('tells the lag in seconds behind the head, whatever the positions are worth', async () => {
    const metrics = createMetrics();
    // EventStoreDB positions: commit offsets packed into 128 bits, far apart.
    const head = 5n << 64n;
    metrics.projectionAt(head, head, 1_000);
    expect(await gauge(metrics, 'account_links_projection_behind')).toBe(0);
    expect(await gauge(metrics, 'account_links_projection_lag_seconds')).toBe(0);
    metrics.projectionAt(3n << 64n, head, 4_000);
    expect(await gauge(metrics, 'account_links_projection_behind')).toBe(1);
    expect(await gauge(metrics, 'account_links_projection_lag_seconds')).toBe(3);
    metrics.projectionAt(head, head, 9_000);
    expect(await gauge(metrics, 'account_links_projection_lag_seconds')).toBe(0);
  });
});
