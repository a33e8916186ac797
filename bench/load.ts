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
) =>
  run({
    title: 'lookups x1',
    url,
    connections: 1,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (request, context) => {
          const chosen = pick();
          (context as Context).userId = chosen.userId;
          return { ...request, path: `/api/identities/github/${chosen.subject}` };
        },
      },
      {
        method: 'GET',
        setupRequest: (request, context) => ({
          ...request,
          path: `/api/users/${(context as Context).userId}`,
        }),
      },
    ],
  });
