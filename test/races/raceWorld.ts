import { setTimeout as sleep } from 'node:timers/promises';
import { cookieBrowser, csrfOf, type CookieBrowser } from '../support/browser.js';
import { apiClient, type CommandAnswer, type Reply } from '../support/client.js';
import { startSignIn as startSignInFlow } from '../support/flows.js';
import { consent, type Person } from '../support/providers.js';
import type { TestService } from '../support/service.js';

export type ProviderName = 'github' | 'google';

export interface IdentityRef {
  provider: ProviderName;
  subject: string;
}

/** An identity as the read model shows it; `status: 'never-seen'` for a 404. */
export interface Holding {
  status: 'linked' | 'unowned' | 'released' | 'never-seen';
  userId: string | null;
}

// Most races start both requests in the same tick; some give one side a head start of a
// few milliseconds, so that other interleavings of the two commands happen as well.
const HEAD_STARTS_MS = [0, 0, 0, 0, 1, 2, 3, 5, 8];

/**
 * Everything a race round needs from the running service: API commands (counted), browser
 * sign-ins and links through the provider stand-ins, the read model's answers, and a
 * seeded source of randomness, so that a failing run can be repeated with its seed.
 */
export const raceWorld = (service: TestService, seed: number) => {
  const api = apiClient(service.url, service.services.store);
  const tally = { commands: 0, browserFlows: 0 };
  const url = service.url;

  const command = (name: string, body: unknown): Promise<Reply<CommandAnswer>> => {
    tally.commands += 1;
    return api.command(name, body);
  };

  /** A user registered through a provider, for a round's setup. */
  const register = async (identity: IdentityRef): Promise<string> => {
    const reply = await command('register-via-provider', {
      ...identity,
      profile: { displayName: `Racer ${identity.subject}` },
    });
    if (reply.status !== 201) {
      throw new Error(`setup: registration refused: ${JSON.stringify(reply.body)}`);
    }
    return reply.body.userId;
  };

  const link = async (userId: string, identity: IdentityRef): Promise<void> => {
    const reply = await command('link-provider', { userId, ...identity });
    if (reply.status !== 200) {
      throw new Error(`setup: link refused: ${JSON.stringify(reply.body)}`);
    }
  };

  const holding = async (identity: IdentityRef): Promise<Holding> => {
    const reply = await api.get<Holding>(
      `/api/identities/${identity.provider}/${identity.subject}`,
    );
    if (reply.status === 404) return { status: 'never-seen', userId: null };
    return { status: reply.body.status, userId: reply.body.userId };
  };

  const user = async (userId: string) =>
    (
      await api.get<{
        status: string;
        mergedInto?: string;
        connections?: IdentityRef[];
      }>(`/api/users/${userId}`)
    ).body;

  /** The identities a user is connected to, as `provider:subject`, sorted. */
  const connectionsOf = async (userId: string): Promise<string[]> =>
    ((await user(userId)).connections ?? [])
      .map((c) => `${c.provider}:${c.subject}`)
      .sort();

  const person = (identity: IdentityRef): Person => ({
    id: identity.subject,
    login: `racer-${identity.subject}`,
    name: `Racer ${identity.subject}`,
  });

  // How long a browser's side of a race takes, from its consent to the end of the
  // service's callback (a moving average).
  let browserMs = 30;
  const timed = async <T>(finish: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await finish();
    } finally {
      browserMs = 0.9 * browserMs + 0.1 * (performance.now() - started);
    }
  };

  /**
   * A new browser, at the provider's page for a sign-in with this identity: `finish`
   * consents, and the service's callback signs the browser in. The provider's part is
   * done before a race, so that the race is between the commands.
   */
  const startSignIn = async (identity: IdentityRef) => {
    tally.browserFlows += 1;
    const browser = cookieBrowser();
    const atProvider = await startSignInFlow(browser, url, identity.provider);
    return {
      browser,
      finish: () =>
        timed(() => consent(browser, atProvider, identity.provider, person(identity))),
    };
  };

  const signIn = async (identity: IdentityRef) => {
    const started = await startSignIn(identity);
    return { browser: started.browser, page: await started.finish() };
  };

  /** The link button of the account page, up to the provider's page; `finish` consents. */
  const startLink = async (browser: CookieBrowser, identity: IdentityRef) => {
    tally.browserFlows += 1;
    const account = await browser.get(`${url}/account`);
    if (account.url !== `${url}/account` || account.status !== 200) {
      throw new Error(`setup: the account page answered ${account.status}`);
    }
    const atProvider = await browser.post(`${url}/auth/${identity.provider}/link`, {
      _csrf: csrfOf(account.html),
    });
    if (!atProvider.html.includes('name="request"')) {
      throw new Error(`setup: the link stopped at ${atProvider.url}`);
    }
    return {
      finish: () =>
        timed(() => consent(browser, atProvider, identity.provider, person(identity))),
    };
  };

  /** Whether the token vault keeps provider tokens of this identity. */
  const hasTokens = async (identity: IdentityRef): Promise<boolean> =>
    (await service.vault.get(identity)) !== null;

  /** Who the browser's session is signed in as, if anyone. */
  const sessionUser = async (browser: CookieBrowser): Promise<string | null> => {
    const page = await browser.get(`${url}/auth/session`);
    return (JSON.parse(page.html) as { userId: string | null }).userId;
  };

  /**
   * Runs both sides at once, one of them maybe a few milliseconds ahead. Each round draws
   * from a generator of its own, so its timing depends on the seed and its number only.
   */
  const racer = (round: number) => {
    const random = mulberry32(seed + round * 7919);
    return async <A, B>(
      first: () => Promise<A>,
      second: () => Promise<B>,
      options: { browser?: 'first' | 'second' } = {},
    ): Promise<[A, B]> => {
      let delays: [number, number];
      if (options.browser) {
        // A browser's side has the provider's redirect and token exchange to go before
        // its command runs: the API side starts at a random moment within that time.
        const apiDelay = Math.floor(random() * browserMs);
        delays = options.browser === 'first' ? [0, apiDelay] : [apiDelay, 0];
      } else {
        const headStart = HEAD_STARTS_MS[Math.floor(random() * HEAD_STARTS_MS.length)]!;
        delays = random() < 0.5 ? [headStart, 0] : [0, headStart];
      }
      return Promise.all([after(delays[0], first), after(delays[1], second)]);
    };
  };

  return {
    url,
    api,
    tally,
    command,
    register,
    link,
    holding,
    user,
    connectionsOf,
    startSignIn,
    signIn,
    startLink,
    sessionUser,
    hasTokens,
    racer,
  };
};

export type RaceWorld = ReturnType<typeof raceWorld>;

const after = <T>(ms: number, side: () => Promise<T>): Promise<T> =>
  ms === 0 ? side() : sleep(ms).then(side);

/** A small seeded pseudo-random generator (mulberry32): the same seed, the same rounds. */
export const mulberry32 = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

/** Runs `count` tasks, at most `concurrency` at a time, in order of their number. */
export const runPool = async (
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
};
