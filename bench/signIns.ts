import {
  cookieBrowser,
  fieldValue,
  type CookieBrowser,
} from '../test/support/browser.js';
import { consent, type Person } from '../test/support/providers.js';

const person = (n: number): Person => ({
  id: String(9_000_000 + n),
  login: `bench${n}`,
  name: 'Bench Person',
  email: `bench${n}@example.com`,
  emailVerified: true,
});

/** Runs `work` for each item with `concurrency` at once; resolves with the seconds taken. */
const pool = async <T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<number> => {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
  return (performance.now() - started) / 1000;
};

/**
 * The OAuth callback path, timed alone: `count` browsers (fresh cookie jars) are first
 * taken, untimed, through /auth/github and the development provider's consent up to the
 * redirect back; then their callbacks are sent, `concurrency` at once. A callback checks
 * the state against the session, exchanges the code and reads the profile and emails
 * from the provider over HTTP, decides, runs the command, stores the tokens and starts
 * the signed-in session. Every callback must end at the account page. Half the people are
 * new (a user is created), half signed in before (through the same path, untimed). People
 * are numbered from `first`; a call uses `2 * count` numbers (a later call starts past them).
 */
export const callbackLoad = async (
  url: string,
  count: number,
  concurrency: number,
  first = 0,
): Promise<{ perSecond: number; callbacks: number }> => {
  const returning = Math.floor(count / 2);
  // People who signed in once already.
  await pool([...Array(returning).keys()], concurrency, async (n) => {
    const browser = cookieBrowser();
    const landed = await consent(
      browser,
      await browser.get(`${url}/auth/github`),
      'github',
      person(first + n),
    );
    if (!new URL(landed.url).pathname.startsWith('/account'))
      throw new Error(`first sign-in ended at ${landed.url}`);
  });

  // Flows stopped at the redirect back to the service.
  const pending: { browser: CookieBrowser; callback: string }[] = [];
  await pool([...Array(count).keys()], concurrency, async (n) => {
    const browser = cookieBrowser();
    const atProvider = await browser.get(`${url}/auth/github`);
    const consentUrl = new URL(
      'github/consent',
      atProvider.url.replace(/\/(github|google)\/.*$/, '/'),
    );
    const who = person(first + (n < returning ? n : count + n));
    const redirect = await browser.post(
      consentUrl.toString(),
      {
        request: fieldValue(atProvider.html, 'request'),
        decision: 'allow',
        id: who.id,
        login: who.login ?? '',
        name: who.name ?? '',
        email: who.email ?? '',
        emailVerified: 'on',
      },
      { follow: false },
    );
    const location = redirect.headers.get('location');
    if (!location?.includes('/auth/github/callback'))
      throw new Error(`consent answered ${redirect.status}`);
    pending.push({ browser, callback: new URL(location, consentUrl).toString() });
  });

  const seconds = await pool(pending, concurrency, async ({ browser, callback }) => {
    const answer = await browser.get(callback, { follow: false });
    const location = answer.headers.get('location') ?? '';
    if (answer.status < 300 || answer.status > 303 || !location.startsWith('/account')) {
      throw new Error(
        `callback answered ${answer.status} to ${location}: ${answer.html.slice(0, 200)}`,
      );
    }
  });
  return { perSecond: pending.length / seconds, callbacks: pending.length };
};
