import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A MongoDB server for the tests (MONGODB_URL, or a FerretDB started here), or null. */
    mongoUrl: string | null;
  }
}

const SCRIPT = fileURLToPath(new URL('../../scripts/ferretdb.sh', import.meta.url));

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/**
 * Gives the tests a real MongoDB-wire server: MONGODB_URL when set (CI sets it), else a
 * FerretDB built and started here (scripts/ferretdb.sh). Where neither can be had, the
 * MongoDB tests say so and skip; in CI (CI=1) they fail instead.
 */
export default async function setup(project: TestProject) {
  if (process.env.MONGODB_URL) {
    project.provide('mongoUrl', process.env.MONGODB_URL);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferretdb-'));
  try {
    const port = await freePort();
    const out = execFileSync(SCRIPT, ['start', String(port), dir], { encoding: 'utf8' });
    const url = /MONGODB_URL=(\S+)/.exec(out)?.[1] ?? null;
    project.provide('mongoUrl', url);
  } catch (error) {
    if (process.env.CI) throw error;
    console.warn(`No MongoDB for the tests (FerretDB could not start): ${String(error)}`);
    project.provide('mongoUrl', null);
  }
  return () => {
    execFileSync(SCRIPT, ['stop', dir]);
    rmSync(dir, { recursive: true, force: true });
  };
}
