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
import { pathToFileURL } from 'node:url';
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
import { BUILD, ROOT, build, startServer, waitReady, type Server } from './processes.js';
import { BENCH_CLIENTS } from './servers/common.js';
import { callbackLoad } from './signIns.js';

const TOKEN = 'bench-token-0123456789abcdef';

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('a positive integer');
  return n;
};

/** The figures of one round, each server loaded in turn within a minute or two. */
interface RoundFigures {
  helloPerSecond: number;
  helloP99Ms: number;
  helloP99Ms1: number;
  crudBaselineCommandsPerSecondHttp: number;
  commandsPerSecondHttp: number;
  commandP50Ms: number;
  commandP99Ms: number;
  signInsPerSecond: number;
  lookupP99Ms1: number;
}

/** The middle value (the mean of the two middle ones for an even count). */
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
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
  .option('--sign-ins <n>', 'OAuth callbacks timed per round', positive, 2000)
  .option(
    '--rounds <n>',
    'rounds of the compared loads, one after the other',
    positive,
    3,
  )
  .option('--no-readme', 'do not rewrite the README table')
  .parse()
  .opts<{
    seconds: number;
    replayUsers: number;
    lookupUsers: number;
    signIns: number;
    rounds: number;
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

/**
 * Kilobytes (1,000 bytes) a server started with the allocation sampler allocates per
 * request of `load`, as V8's sampling heap profiler counts them.
 */
const allocatedKb = async (
  server: Server,
  out: string,
  load: () => Promise<LoadFigures>,
): Promise<number> => {
  server.child.kill('SIGUSR2');
  const { requests } = await load();
  server.child.kill('SIGUSR2');
  for (let waited = 0; !existsSync(out); waited += 50) {
    if (waited > 10_000) throw new Error(`no allocation count in ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const bytes = Number(readFileSync(out, 'utf8'));
  if (!Number.isFinite(bytes)) throw new Error(`the allocation sampler failed (${out})`);
  return Number((bytes / requests / 1000).toFixed(1));
};

const seconds = options.seconds;
const warmSeconds = Math.max(2, Math.round(seconds / 5));
mkdirSync(options.data, { recursive: true });
const fresh = () => mkdtempSync(join(tmpdir(), 'account-links-bench-'));

log('compiling (tsconfig.bench.json)');
build();

// The generated logs first: making one takes minutes, which must not fall between the
// figures that are compared.
const replayDir = await dataset(options.replayUsers);
const lookupDir = await dataset(options.lookupUsers);

// Every server a ratio compares stays up for the whole run, and each round loads them one
// after the other, a few seconds apart: this machine's speed drifts by a quarter within
// minutes, and a ratio of figures taken minutes apart would measure the drift. An idle
// server costs the others nothing but memory.
log('starting the servers');
// Hello and the lookups' service also count their allocations when asked (inert until then).
const sampler = [
  '--import',
  pathToFileURL(join(BUILD, 'bench/allocationSampler.js')).href,
];
const samples = fresh();
const hello = await startServer(
  'bench/servers/hello.ts',
  { ALLOCATION_OUT: join(samples, 'hello') },
  sampler,
);
const crudDir = fresh();
const crud = await startServer('bench/servers/crud.ts', {
  DATA_DIR: crudDir,
  BENCH_TOKEN: TOKEN,
});
const serviceDir = fresh();
const service = await startServer('src/main.ts', serviceEnv(serviceDir));
await waitReady(service.url, performance.now());
// Sign-ins: the provider stand-in in a process of its own, as GitHub is elsewhere (the
// embedded default serves it in the service's process; there its three requests per
// sign-in would be counted as the service's work).
const providers = await startServer('bench/servers/providers.ts', {});
const signInDir = fresh();
const signInService = await startServer(
  'src/main.ts',
  serviceEnv(signInDir, standInEnvironment(providers.url, BENCH_CLIENTS)),
);
await waitReady(signInService.url, performance.now());
// Lookups and memory: the service on a log of a million identities.
const loaded = await startServer(
  'src/main.ts',
  serviceEnv(lookupDir, { ALLOCATION_OUT: join(samples, 'lookups') }),
  sampler,
);
await waitReady(loaded.url, performance.now());
const pick = () => {
  const i = Math.floor(Math.random() * options.lookupUsers);
  return { subject: benchGithubSubject(i), userId: benchUserId(i) };
};
let people = 0;
const signInRun = async (count: number) => {
  const result = await callbackLoad(signInService.url, count, 16, people);
  people += 2 * count;
  return result;
};
await signInRun(200);

const rounds: RoundFigures[] = [];
for (let round = 1; round <= options.rounds; round += 1) {
  log(
    `round ${round} of ${options.rounds}: hello, CRUD baseline, commands, sign-ins, lookups`,
  );
  const hello32 = await measured(
    () => helloLoad(hello.url, 32, warmSeconds),
    () => helloLoad(hello.url, 32, seconds),
  );
  const hello1 = await measured(
    () => helloOneAtATime(hello.url, warmSeconds),
    () => helloOneAtATime(hello.url, seconds),
  );
  const crudMix = await measured(
    () => commandMix(crud.url, TOKEN, 32, warmSeconds),
    () => commandMix(crud.url, TOKEN, 32, seconds),
  );
  const commands = await measured(
    () => commandMix(service.url, TOKEN, 32, warmSeconds),
    () => commandMix(service.url, TOKEN, 32, seconds),
  );
  const signIns = await signInRun(options.signIns);
  const lookup = await measured(
    () => lookups(loaded.url, TOKEN, warmSeconds, pick),
    () => lookups(loaded.url, TOKEN, seconds, pick),
  );
  rounds.push({
    helloPerSecond: Math.round(hello32.perSecond),
    helloP99Ms: hello32.p99Ms,
    helloP99Ms1: hello1.p99Ms,
    crudBaselineCommandsPerSecondHttp: Math.round(crudMix.perSecond),
    commandsPerSecondHttp: Math.round(commands.perSecond),
    commandP50Ms: commands.p50Ms,
    commandP99Ms: commands.p99Ms,
    signInsPerSecond: Number(signIns.perSecond.toFixed(1)),
    lookupP99Ms1: lookup.p99Ms,
  });
}
const rssMb = loaded.rssMb();
// What a request allocates (young-generation collections come with every few megabytes:
// what sets the tails at one connection).
log('allocations per request: hello, lookups');
const allocatedKbPerRequest = {
  hello: await allocatedKb(hello, join(samples, 'hello'), () =>
    helloOneAtATime(hello.url, warmSeconds),
  ),
  lookup: await allocatedKb(loaded, join(samples, 'lookups'), () =>
    lookups(loaded.url, TOKEN, warmSeconds, pick),
  ),
};
for (const server of [hello, crud, service, signInService, providers, loaded])
  await server.stop();
for (const dir of [crudDir, serviceDir, signInDir, samples])
  rmSync(dir, { recursive: true, force: true });

// Replay: the raw reading of the log, the read model's rebuild, a start of the service;
// in rounds too, one after the other.
const replayRounds: {
  rawSeconds: number;
  replaySeconds: number;
  startupSeconds: number;
}[] = [];
let events = 0;
for (let round = 1; round <= options.rounds; round += 1) {
  log(`replay, round ${round} of ${options.rounds}`);
  const raw = probe('raw', replayDir);
  const replay = probe('service', replayDir);
  if (raw.events !== replay.events)
    throw new Error(`raw read ${raw.events} events, the replay ${replay.events}`);
  events = raw.events;
  const startedAt = performance.now();
  const starting = await startServer('src/main.ts', serviceEnv(replayDir));
  const startupMs = await waitReady(starting.url, startedAt);
  await starting.stop();
  replayRounds.push({
    rawSeconds: raw.seconds,
    replaySeconds: replay.seconds,
    startupSeconds: startupMs / 1000,
  });
}
const rawSeconds = median(replayRounds.map((r) => r.rawSeconds));

// Other stores, where their URLs are set (their own figures, no targets).
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

const perRound = (figure: keyof RoundFigures) => median(rounds.map((r) => r[figure]));
const figures = {
  helloPerSecond: perRound('helloPerSecond'),
  helloP99Ms: perRound('helloP99Ms'),
  helloP99Ms1: perRound('helloP99Ms1'),
  crudBaselineCommandsPerSecondHttp: perRound('crudBaselineCommandsPerSecondHttp'),
  rawReplayEventsPerSecond: Math.round(events / rawSeconds),
  commandsPerSecondHttp: perRound('commandsPerSecondHttp'),
  commandP50Ms: perRound('commandP50Ms'),
  commandP99Ms: perRound('commandP99Ms'),
  signInsPerSecond: perRound('signInsPerSecond'),
  lookupP99Ms1: perRound('lookupP99Ms1'),
  replayEventsPerSecond: Math.round(
    events / median(replayRounds.map((r) => r.replaySeconds)),
  ),
  startupSeconds: Number(median(replayRounds.map((r) => r.startupSeconds)).toFixed(2)),
  rssMb: Math.round(rssMb),
};
// A ratio of two figures of one round is taken within a minute; the target is read on the
// median of the rounds' ratios, and their spread is kept.
const inRounds = (ratio: (r: RoundFigures) => number) => rounds.map(ratio);
const targets: [string, number[], number, 'min' | 'max' | 'below'][] = [
  [
    'commandsPerSecondHttp >= 0.8x crudBaselineCommandsPerSecondHttp',
    inRounds((r) => r.commandsPerSecondHttp / r.crudBaselineCommandsPerSecondHttp),
    0.8,
    'min',
  ],
  [
    'commandP99Ms <= 3x helloP99Ms',
    inRounds((r) => r.commandP99Ms / r.helloP99Ms),
    3,
    'max',
  ],
  [
    'signInsPerSecond >= 0.1x helloPerSecond',
    inRounds((r) => r.signInsPerSecond / r.helloPerSecond),
    0.1,
    'min',
  ],
  [
    'lookupP99Ms1 <= 1.5x helloP99Ms1',
    inRounds((r) => r.lookupP99Ms1 / r.helloP99Ms1),
    1.5,
    'max',
  ],
  [
    'replayEventsPerSecond >= 0.8x rawReplayEventsPerSecond',
    replayRounds.map((r) => r.rawSeconds / r.replaySeconds),
    0.8,
    'min',
  ],
  [
    'startupSeconds <= 1.5x raw replay time',
    replayRounds.map((r) => r.startupSeconds / r.rawSeconds),
    1.5,
    'max',
  ],
  ['rssMb < 600', [figures.rssMb / 600], 1, 'below'],
];
const ratio3 = (n: number) => Number(n.toFixed(3));
const checks = targets.map(([target, ratios, limit, kind]) => {
  const ratio = median(ratios);
  return {
    target,
    ratio: ratio3(ratio),
    ...(ratios.length > 1 && {
      ratioRange: [ratio3(Math.min(...ratios)), ratio3(Math.max(...ratios))],
    }),
    met:
      kind === 'min' ? ratio >= limit : kind === 'max' ? ratio <= limit : ratio < limit,
  };
});

const cpu = cpus();
const results = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  },
  settings: {
    secondsPerRun: seconds,
    connections: 32,
    signInConcurrency: 16,
    signInCallbacks: options.signIns,
    rounds: options.rounds,
    replayLog: {
      users: options.replayUsers,
      events,
      rawSeconds: Number(rawSeconds.toFixed(2)),
    },
    lookupLog: { users: options.lookupUsers, identities: options.lookupUsers * 2 },
    logLevel: 'warn',
  },
  ...figures,
  others,
  targets: checks,
  allocatedKbPerRequest,
  rounds,
  replayRounds,
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
    (c) =>
      `| ${c.target} | ${c.ratio} | ${c.ratioRange ? c.ratioRange.join(' to ') : ''} | ${c.met ? 'met' : '**missed**'} |`,
  );
  const otherRows = Object.entries(others).map(
    ([name, o]) =>
      `| ${name} | ${Math.round(o.commandsPerSecondHttp)} | ${o.commandP50Ms} | ${o.commandP99Ms} |`,
  );
  const table = [
    start,
    `Measured ${results.date.slice(0, 10)} on ${results.machine.cores} × ${results.machine.cpu}, ${results.machine.memoryGb} GB, Node ${results.machine.node}; ${options.rounds} rounds of ${seconds} s per load run, each figure the median of the rounds; log level warn. Replay log: ${events} events; lookup log: ${options.lookupUsers * 2} identities.`,
    '',
    '| Figure | Value |',
    '| --- | --- |',
    ...rows,
    '',
    '| Target | Ratio (median) | In the rounds | |',
    '| --- | --- | --- | --- |',
    ...targetRows,
    '',
    `Allocated per request (V8's sampling heap profiler, at one connection): hello ${allocatedKbPerRequest.hello} KB, a lookup ${allocatedKbPerRequest.lookup} KB.`,
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
