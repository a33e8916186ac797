import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { standInEnvironment } from '../src/devProvider/devProvider.js';
import { benchGithubSubject, benchUserId, generateLog } from './generateLog.js';
import {
  commandMix,
  helloLoad,
  helloOneAtATime,
  lookups,
  type LoadFigures,
} from './load.js';
import { BUILD, ROOT, build, startServer, waitReady } from './processes.js';
import { BENCH_CLIENTS } from './servers/common.js';
import { callbackLoad } from './signIns.js';

const TOKEN = 'bench-token-0123456789abcdef';

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('a positive integer');
  return n;
};

const options = new Command('bench')
  .description('measures the service against its baselines, in one run, on this machine')
  .option('--seconds <n>', 'length of each load run', positive, 10)
  .option(
    '--replay-users <n>',
    'people in the replay log (5 events each)',
    positive,
    200_000,
  )
  .option(
    '--lookup-users <n>',
    'people in the lookup log (2 identities each)',
    positive,
    500_000,
  )
  .option(
    '--data <dir>',
    'where generated logs are kept between runs',
    join(ROOT, 'bench', '.data'),
  )
  .option('--sign-ins <n>', 'OAuth callbacks timed', positive, 2000)
  .option('--no-readme', 'do not rewrite the README table')
  .parse()
  .opts<{
    seconds: number;
    replayUsers: number;
    lookupUsers: number;
    signIns: number;
    data: string;
    readme: boolean;
  }>();

const log = (line: string) => console.error(`[bench] ${line}`);

/** A generated data directory, kept between runs (generating takes minutes). */
const dataset = async (users: number): Promise<string> => {
  const dir = join(options.data, `log-${users}`);
  if (existsSync(join(dir, 'complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  log(`generating a log of ${users} people (${users * 5} events) in ${dir}`);
  const started = performance.now();
  const events = await generateLog(dir, users);
  writeFileSync(join(dir, 'complete'), `${events}\n`);
  log(`  ${events} events in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return dir;
};

/** Runs bench/probe.ts; its figures are the last line it prints (logs may come first). */
const probe = (kind: 'raw' | 'service', dir: string) => {
  const out = execFileSync(process.execPath, [join(BUILD, 'bench/probe.js'), kind, dir], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as {
    events: number;
    seconds: number;
    heapMb?: number;
  };
};

const serviceEnv = (dataDir: string, extra: Record<string, string> = {}) => ({
  PORT: '0',
  DATA_DIR: dataDir,
  SERVICE_TOKENS: `bench=${TOKEN}`,
  AUTH_RATE_LIMIT_PER_MINUTE: '100000',
  API_RATE_LIMIT_PER_MINUTE: '10000000',
  MAX_IN_FLIGHT_COMMANDS: '1000',
  ...extra,
});

/** Warms a server up (JIT, connections, caches), then measures. */
const measured = async (
  warm: () => Promise<unknown>,
  run: () => Promise<LoadFigures>,
) => {
  await warm();
  return run();
};

const seconds = options.seconds;
const warmSeconds = Math.max(2, Math.round(seconds / 5));
mkdirSync(options.data, { recursive: true });
const fresh = () => mkdtempSync(join(tmpdir(), 'account-links-bench-'));

log('compiling (tsconfig.bench.json)');
build();

// 1. The HTTP layer's ceiling.
log('hello-world baseline');
const hello = await startServer('bench/servers/hello.ts', {});
const hello32 = await measured(
  () => helloLoad(hello.url, 32, warmSeconds),
  () => helloLoad(hello.url, 32, seconds),
);
const hello1 = await measured(
  () => helloOneAtATime(hello.url, warmSeconds),
  () => helloOneAtATime(hello.url, seconds),
);
await hello.stop();

// 2. The plain table of connections.
log('CRUD baseline');
const crudDir = fresh();
const crud = await startServer('bench/servers/crud.ts', {
  DATA_DIR: crudDir,
  BENCH_TOKEN: TOKEN,
});
const crudMix = await measured(
  () => commandMix(crud.url, TOKEN, 32, warmSeconds),
  () => commandMix(crud.url, TOKEN, 32, seconds),
);
await crud.stop();
rmSync(crudDir, { recursive: true, force: true });

// 3. The service on its embedded default: commands.
log('service: commands');
const serviceDir = fresh();
const service = await startServer('src/main.ts', serviceEnv(serviceDir));
await waitReady(service.url, performance.now());
const commands = await measured(
  () => commandMix(service.url, TOKEN, 32, warmSeconds),
  () => commandMix(service.url, TOKEN, 32, seconds),
);
await service.stop();
rmSync(serviceDir, { recursive: true, force: true });

// Sign-ins: the provider stand-in in a process of its own, as GitHub is elsewhere (the
// embedded default serves it in the service's process; there its three requests per
// sign-in would be counted as the service's work).
log('service: sign-ins');
const providers = await startServer('bench/servers/providers.ts', {});
const signInDir = fresh();
const signInService = await startServer(
  'src/main.ts',
  serviceEnv(signInDir, standInEnvironment(providers.url, BENCH_CLIENTS)),
);
await waitReady(signInService.url, performance.now());
await callbackLoad(signInService.url, 200, 16);
const signIns = await callbackLoad(signInService.url, options.signIns, 16);
await signInService.stop();
await providers.stop();
rmSync(signInDir, { recursive: true, force: true });

// 4. Replay: the raw reading of the log, the read model's rebuild, a start of the service.
const replayDir = await dataset(options.replayUsers);
log('replay');
const raw = probe('raw', replayDir);
const replay = probe('service', replayDir);
const startedAt = performance.now();
const starting = await startServer('src/main.ts', serviceEnv(replayDir));
const startupMs = await waitReady(starting.url, startedAt);
await starting.stop();

// 5. Lookups and memory with a million identities.
const lookupDir = await dataset(options.lookupUsers);
log('lookups');
const loaded = await startServer('src/main.ts', serviceEnv(lookupDir));
await waitReady(loaded.url, performance.now());
const pick = () => {
  const i = Math.floor(Math.random() * options.lookupUsers);
  return { subject: benchGithubSubject(i), userId: benchUserId(i) };
};
const lookup = await measured(
  () => lookups(loaded.url, TOKEN, warmSeconds, pick),
  () => lookups(loaded.url, TOKEN, seconds, pick),
);
const rssMb = loaded.rssMb();
await loaded.stop();

// 6. Other stores, where their URLs are set.
const others: Record<
  string,
  { commandsPerSecondHttp: number; commandP50Ms: number; commandP99Ms: number }
> = {};
const otherStores: [string, Record<string, string>][] = [];
if (process.env.MONGODB_URL)
  otherStores.push(['mongodb', { MONGODB_URL: process.env.MONGODB_URL }]);
if (process.env.EVENTSTORE_URL)
  otherStores.push(['eventstoredb', { EVENTSTORE_URL: process.env.EVENTSTORE_URL }]);
if (process.env.MONGODB_URL && process.env.EVENTSTORE_URL)
  otherStores.push([
    'eventstoredb+mongodb',
    { MONGODB_URL: process.env.MONGODB_URL, EVENTSTORE_URL: process.env.EVENTSTORE_URL },
  ]);
for (const [name, env] of otherStores) {
  log(`service on ${name}: commands`);
  const dir = fresh();
  const other = await startServer('src/main.ts', serviceEnv(dir, env));
  await waitReady(other.url, performance.now());
  const mix = await measured(
    () => commandMix(other.url, TOKEN, 32, warmSeconds),
    () => commandMix(other.url, TOKEN, 32, seconds),
  );
  await other.stop();
  rmSync(dir, { recursive: true, force: true });
  others[name] = {
    commandsPerSecondHttp: mix.perSecond,
    commandP50Ms: mix.p50Ms,
    commandP99Ms: mix.p99Ms,
  };
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const figures = {
  helloPerSecond: round(hello32.perSecond, 0),
  helloP99Ms: hello32.p99Ms,
  helloP99Ms1: hello1.p99Ms,
  crudBaselineCommandsPerSecondHttp: round(crudMix.perSecond, 0),
  rawReplayEventsPerSecond: round(raw.events / raw.seconds, 0),
  commandsPerSecondHttp: round(commands.perSecond, 0),
  commandP50Ms: commands.p50Ms,
  commandP99Ms: commands.p99Ms,
  signInsPerSecond: round(signIns.perSecond, 1),
  lookupP99Ms1: lookup.p99Ms,
  replayEventsPerSecond: round(replay.events / replay.seconds, 0),
  startupSeconds: round(startupMs / 1000, 2),
  rssMb: round(rssMb, 0),
};
const rawSeconds = raw.seconds;
const targets = [
  [
    'commandsPerSecondHttp >= 0.8x crudBaselineCommandsPerSecondHttp',
    figures.commandsPerSecondHttp / figures.crudBaselineCommandsPerSecondHttp,
    0.8,
    'min',
  ],
  ['commandP99Ms <= 3x helloP99Ms', figures.commandP99Ms / figures.helloP99Ms, 3, 'max'],
  [
    'signInsPerSecond >= 0.1x helloPerSecond',
    figures.signInsPerSecond / figures.helloPerSecond,
    0.1,
    'min',
  ],
  [
    'lookupP99Ms1 <= 1.5x helloP99Ms1',
    figures.lookupP99Ms1 / figures.helloP99Ms1,
    1.5,
    'max',
  ],
  [
    'replayEventsPerSecond >= 0.8x rawReplayEventsPerSecond',
    figures.replayEventsPerSecond / figures.rawReplayEventsPerSecond,
    0.8,
    'min',
  ],
  [
    'startupSeconds <= 1.5x raw replay time',
    figures.startupSeconds / rawSeconds,
    1.5,
    'max',
  ],
  ['rssMb < 600', figures.rssMb / 600, 1, 'below'],
] as const;
const checks = targets.map(([target, ratio, limit, kind]) => ({
  target,
  ratio: round(ratio, 3),
  met: kind === 'min' ? ratio >= limit : kind === 'max' ? ratio <= limit : ratio < limit,
}));

const cpu = cpus();
const results = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  },
  settings: {
    secondsPerRun: seconds,
    connections: 32,
    signInConcurrency: 16,
    signInCallbacks: options.signIns,
    replayLog: {
      users: options.replayUsers,
      events: raw.events,
      rawSeconds: round(rawSeconds, 2),
    },
    lookupLog: { users: options.lookupUsers, identities: options.lookupUsers * 2 },
    logLevel: 'warn',
  },
  ...figures,
  others,
  targets: checks,
};
writeFileSync(
  join(ROOT, 'bench', 'results.json'),
  `${JSON.stringify(results, null, 2)}\n`,
);
console.log(JSON.stringify(results, null, 2));

if (options.readme) {
  const readmePath = join(ROOT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from)
    throw new Error(`README.md has no ${start} … ${end} section`);
  const rows = Object.entries(figures).map(
    ([name, value]) => `| \`${name}\` | ${value} |`,
  );
  const targetRows = checks.map(
    (c) => `| ${c.target} | ${c.ratio} | ${c.met ? 'met' : '**missed**'} |`,
  );
  const otherRows = Object.entries(others).map(
    ([name, o]) =>
      `| ${name} | ${round(o.commandsPerSecondHttp, 0)} | ${o.commandP50Ms} | ${o.commandP99Ms} |`,
  );
  const table = [
    start,
    `Measured ${results.date.slice(0, 10)} on ${results.machine.cores} × ${results.machine.cpu}, ${results.machine.memoryGb} GB, Node ${results.machine.node}; ${seconds} s per load run, log level warn. Replay log: ${raw.events} events; lookup log: ${options.lookupUsers * 2} identities.`,
    '',
    '| Figure | Value |',
    '| --- | --- |',
    ...rows,
    '',
    '| Target | Ratio | |',
    '| --- | --- | --- |',
    ...targetRows,
    ...(otherRows.length > 0
      ? [
          '',
          '| Stores | commands/s | p50 ms | p99 ms |',
          '| --- | --- | --- | --- |',
          ...otherRows,
        ]
      : []),
    end,
  ].join('\n');
  writeFileSync(
    readmePath,
    readme.slice(0, from) + table + readme.slice(to + end.length),
  );
  // The table as Prettier lays it out (the README is checked by `npm run lint`).
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/prettier/bin/prettier.cjs'), '--write', readmePath],
    {
      stdio: 'ignore',
    },
  );
  log('README.md table updated');
}
