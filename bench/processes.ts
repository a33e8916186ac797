import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../src/config.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Server {
  child: ChildProcess;
  url: string;
  /** Resident memory of the process now, from /proc (MB). */
  rssMb(): number;
  stop(): Promise<void>;
}

/** Where `tsc -p tsconfig.bench.json` compiles the service and the benchmark's servers. */
export const BUILD = join(ROOT, '.bench-build');

/** Compiles src and bench to plain JavaScript, as a production build runs them. */
export const build = (): void => {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bench.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
};

/**
 * Starts a compiled entry point (`src/main.ts` runs as `.bench-build/src/main.js`, as
 * `npm run start:prod` runs dist/main.js) as its own process and waits for its "listening
 * on" line. Benchmarks never share a process with the server they load.
 */
export const startServer = async (
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  timeoutMs = 600_000,
): Promise<Server> => {
  const script = join(BUILD, entry.replace(/\.ts$/, '.js'));
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: ROOT,
    env: childEnvironment({ LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry}: no banner:\n${output}`)),
      timeoutMs,
    );
    const look = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve(match[1]!);
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code}):\n${output}`));
    });
  });
  return {
    child,
    url,
    rssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
};

/** Polls `/readyz` until it answers 200; resolves with the time it took (ms). */
export const waitReady = async (url: string, since: number): Promise<number> => {
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.ok) return performance.now() - since;
    await res?.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
