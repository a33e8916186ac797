import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';

const gauge = async (metrics: ReturnType<typeof createMetrics>, name: string) => {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
};

const lagOf = async (metrics: ReturnType<typeof createMetrics>) => ({
  behind: await gauge(metrics, 'account_links_projection_behind'),
  seconds: await gauge(metrics, 'account_links_projection_lag_seconds'),
});

describe('projection metrics', () => {
  it('tells the lag in seconds, whatever the positions are worth', async () => {
    const metrics = createMetrics();
    // EventStoreDB positions: commit offsets packed into 128 bits, far apart.
    const head = 5n << 64n;
    metrics.projectionAt(head, head, 1_000);
    expect(await lagOf(metrics)).toEqual({ behind: 0, seconds: 0 });
    // The head moves on and the read model stops following it.
    const next = 9n << 64n;
    metrics.projectionAt(head, next, 4_000);
    metrics.projectionAt(head, next, 9_000);
    expect(await lagOf(metrics)).toEqual({ behind: 1, seconds: 5 });
    metrics.projectionAt(head, 12n << 64n, 14_000);
    expect(await lagOf(metrics)).toEqual({ behind: 1, seconds: 10 });
    // It applies the first head it missed: the lag is that of the next one.
    metrics.projectionAt(next, 12n << 64n, 16_000);
    expect(await lagOf(metrics)).toEqual({ behind: 1, seconds: 2 });
    metrics.projectionAt(12n << 64n, 12n << 64n, 17_000);
    expect(await lagOf(metrics)).toEqual({ behind: 0, seconds: 0 });
  });

  it('reads no lag under a steady load the read model keeps up with', async () => {
    // Each sample finds the head a little ahead (appends flushed a moment before the read
    // model applies them), and each head seen is applied by the next sample.
    const metrics = createMetrics();
    for (let sample = 1; sample <= 20; sample += 1) {
      const head = BigInt(sample * 1000);
      metrics.projectionAt(head - 7n, head, sample * 5_000);
      expect(await lagOf(metrics)).toEqual({ behind: 0, seconds: 0 });
    }
  });

  it('counts the lag of a read model that never applied anything', async () => {
    const metrics = createMetrics();
    metrics.projectionAt(null, 10n, 0);
    metrics.projectionAt(null, 10n, 30_000);
    expect(await lagOf(metrics)).toEqual({ behind: 1, seconds: 30 });
  });

  it('keeps the oldest missed head however long the read model stays stuck', async () => {
    const metrics = createMetrics();
    for (let sample = 0; sample <= 3000; sample += 1) {
      metrics.projectionAt(1n, BigInt(10 + sample), sample * 5_000);
    }
    expect(await lagOf(metrics)).toEqual({ behind: 1, seconds: 15_000 });
  });
});
