import { spawnService, type ServiceProcess } from '../support/process.js';
import { waitUntilReady } from '../support/service.js';

/** The address of a running service, and which start of it that is. */
export interface Up {
  url: string;
  generation: number;
}

/**
 * One service, started as its own process again and again on the same data directory and
 * environment, and killed with SIGKILL in between. Clients wait on `up()`: it answers at
 * once while a start is ready, and after the next start's `/readyz` while it is down.
 */
export const killedService = (env: Record<string, string>) => {
  let running: ServiceProcess | null = null;
  let generation = 0;
  let current: Up | null = null;
  const waiters: Array<{ wake: (up: Up) => void; fail: (error: Error) => void }> = [];
  const outputs: string[] = [];
  const startSeconds: number[] = [];

  const start = async (): Promise<Up> => {
    if (running) throw new Error('the service is running already');
    const began = performance.now();
    running = await spawnService(env);
    await waitUntilReady(running.url);
    startSeconds.push((performance.now() - began) / 1000);
    generation += 1;
    current = { url: running.url, generation };
    for (const { wake } of waiters.splice(0)) wake(current);
    return current;
  };

  /** Marks the service down first, so that failing clients wait for the next start. */
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!running) return;
    current = null;
    const dying = running;
    running = null;
    await dying.stop(signal);
    outputs.push(dying.output());
  };

  return {
    start,
    kill,
    up: (): Promise<Up> =>
      current
        ? Promise.resolve(current)
        : new Promise((wake, fail) => waiters.push({ wake, fail })),
    /** The generation that is up now, or null while the service is down. */
    generation: (): number | null => current?.generation ?? null,
    starts: () => generation,
    /** How long each start took, from spawning to a ready `/readyz`. */
    startSeconds: () => [...startSeconds],
    /** Everything each start printed (logs at `warn` and above), the running one last. */
    output: (): string => [...outputs, running?.output() ?? ''].join('\n'),
    /** Ends the waiting of clients that would otherwise wait for a start forever. */
    abandonWaiters: (reason: Error): void => {
      for (const { fail } of waiters.splice(0)) fail(reason);
    },
  };
};

export type KilledService = ReturnType<typeof killedService>;
