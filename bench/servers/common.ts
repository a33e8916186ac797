import type { Server } from 'node:http';
import { pino } from 'pino';

/** What the service's own process does: log at LOG_LEVEL to stdout (warn in benchmarks). */
export const benchLogger = () => pino({ level: process.env.LOG_LEVEL ?? 'warn' });

/** Prints the address the way the service does, for bench/processes.ts to read. */
export const announce = (name: string, server: Server): void => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  console.log(`${name} is listening on http://127.0.0.1:${address.port}`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
};

/** The OAuth clients the provider stand-in knows, and the service is configured with. */
export const BENCH_CLIENTS = {
  github: { clientId: 'bench-github-client', clientSecret: 'bench-github-secret-0123' },
  google: { clientId: 'bench-google-client', clientSecret: 'bench-google-secret-0123' },
};
