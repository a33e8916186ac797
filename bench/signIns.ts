import { cookieBrowser } from '../test/support/browser.js';
import { consent, type Person } from '../test/support/providers.js';

/**
 * The whole browser path of a sign-in, as many people at once: each round is a new browser
 * (fresh cookies) that opens /auth/github, is sent to the development provider, consents
 * as a person, comes back to the callback (state check, code exchange and profile fetch
 * over HTTP, decision, command, session) and lands on its account page. Half the rounds
 * are first sign-ins (a user is created), half return to a person seen before.
 */
export const signInLoad = async (
  url: string,
  concurrency: number,
  seconds: number,
): Promise<{ perSecond: number; signIns: number }> => {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  let people = 0;
  const seen: string[] = [];

  const round = async () => {
    const returning = seen.length > 0 && done % 2 === 1;
    const id = returning
      ? seen[Math.floor(Math.random() * seen.length)]!
      : String(9_000_000 + (people += 1));
    const person: Person = {
      id,
      login: `bench${id}`,
      name: 'Bench Person',
      email: `bench${id}@example.com`,
      emailVerified: true,
    };
    const browser = cookieBrowser();
    const atProvider = await browser.get(`${url}/auth/github`);
    const landed = await consent(browser, atProvider, 'github', person);
    if (landed.status !== 200 || !new URL(landed.url).pathname.startsWith('/account')) {
      throw new Error(`sign-in ended at ${landed.url} (${landed.status})`);
    }
    if (!returning) seen.push(id);
    done += 1;
  };

  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await round();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: done / elapsed, signIns: done };
};
