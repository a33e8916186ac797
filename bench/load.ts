import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';

export interface LoadFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Answers that were not 2xx, and connection errors: a run with any is not a result. */
  failures: number;
}

const figures = (result: autocannon.Result): LoadFigures => ({
  perSecond: result.requests.total / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  requests: result.requests.total,
  failures: result.non2xx + result.errors,
});

const run = async (options: autocannon.Options): Promise<LoadFigures> => {
  const result = await autocannon(options);
  const out = figures(result);
  if (out.failures > 0) {
    throw new Error(
      `${options.title ?? options.url}: ${result.non2xx} answers not 2xx, ${result.errors} errors`,
    );
  }
  return out;
};

/**
 * One request at a time over one kept-alive connection, each timed to the microsecond:
 * autocannon keeps whole milliseconds, and a tail under a millisecond (hello at one
 * connection) would read as 0. `next` gives each request's path, method and body.
 */
export const oneAtATime = async (
  url: string,
  seconds: number,
  next: () => {
    path: string;
    method?: string;
    body?: string;
    headers?: Record<string, string>;
  },
): Promise<LoadFigures> => {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (request: ReturnType<typeof next>) =>
    new Promise<number>((resolve, reject) => {
      const sent = httpRequest(
        {
          hostname,
          port,
          path: request.path,
          method: request.method ?? 'GET',
          agent,
          headers: request.headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      sent.on('error', reject);
      sent.end(request.body);
    });
  // Room for every sample up front: the timer itself should not make garbage.
  const took = new Float64Array(Math.max(1, seconds) * 50_000);
  let count = 0;
  let failures = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    while (performance.now() < end && count < took.length) {
      const request = next();
      const before = performance.now();
      const status = await send(request);
      took[count++] = performance.now() - before;
      if (status < 200 || status >= 300) failures += 1;
    }
  } finally {
    agent.destroy();
  }
  if (failures > 0) throw new Error(`${url}: ${failures} answers not 2xx`);
  const sorted = took.subarray(0, count).sort();
  const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * count))]!;
  const ms = (value: number) => Math.round(value * 100) / 100;
  return {
    perSecond: count / ((performance.now() - started) / 1000),
    p50Ms: ms(at(0.5)),
    p99Ms: ms(at(0.99)),
    requests: count,
    failures,
  };
};

/** POST /hello, one request at a time (to the microsecond, like the lookups). */
export const helloOneAtATime = (url: string, seconds: number) =>
  oneAtATime(url, seconds, () => ({
    path: '/hello',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  }));

/** POST /hello with a small JSON body. */
export const helloLoad = (url: string, connections: number, seconds: number) =>
  run({
    title: `hello x${connections}`,
    url: `${url}/hello`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });

/** What a connection carries from one request of the mix to the next. */
interface Context {
  userId: string;
}

let subjects = 0;
/** A subject no run has used before (the mix registers and links new identities only). */
const nextSubject = () => `${process.pid}${Date.now()}${(subjects += 1)}`;

/**
 * The command mix: each connection registers a person through GitHub, then links Google to
 * that person, and again. Half the commands create a user, half add to one.
 */
export const commandMix = (
  url: string,
  token: string,
  connections: number,
  seconds: number,
) =>
  run({
    title: `commands x${connections}`,
    url,
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    requests: [
      {
        method: 'POST',
        path: '/api/commands/register-via-provider',
        setupRequest: (request) => {
          const subject = nextSubject();
          return {
            ...request,
            body: JSON.stringify({
              provider: 'github',
              subject,
              profile: {
                displayName: 'Bench Person',
                email: `bench${subject}@example.com`,
                emailVerified: true,
              },
            }),
          };
        },
        onResponse: (status, body, context) => {
          if (status === 201)
            (context as Context).userId = (JSON.parse(body) as { userId: string }).userId;
        },
      },
      {
        method: 'POST',
        path: '/api/commands/link-provider',
        setupRequest: (request, context) => ({
          ...request,
          body: JSON.stringify({
            userId: (context as Context).userId,
            provider: 'google',
            subject: nextSubject(),
            profile: { email: 'bench-google@example.com', emailVerified: true },
          }),
        }),
      },
    ],
  });

/**
 * Lookups at one connection: who holds this identity, then this user's connections, for
 * identities and users picked at random from those the log holds.
 */
export const lookups = (
  url: string,
  token: string,
  seconds: number,
  pick: () => { subject: string; userId: string },
) => {
  const headers = { authorization: `Bearer ${token}` };
  let chosen: { subject: string; userId: string } | null = null;
  return oneAtATime(url, seconds, () => {
    if (chosen === null) {
      chosen = pick();
      return { path: `/api/identities/github/${chosen.subject}`, headers };
    }
    const path = `/api/users/${chosen.userId}`;
    chosen = null;
    return { path, headers };
  });
};
