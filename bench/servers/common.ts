import type { Server } from 'node:http';
import { createLogger } from '../../src/logger.js';

/** The service's own logger (its redaction included), at LOG_LEVEL (warn in benchmarks). */
export const benchLogger = () => createLogger(process.env.LOG_LEVEL ?? 'warn');

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
