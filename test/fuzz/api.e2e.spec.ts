import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { cookieBrowser } from '../support/browser.js';
import { apiClient, registerViaProvider } from '../support/client.js';
import { signInWith } from '../support/flows.js';
import { startProviderStandIns, type ProviderStandIns } from '../support/providers.js';
import {
  AUDITOR,
  READER,
  TOKEN,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';
import { apiCases, type ApiCase, type ApiWorld } from './apiCases.js';
import {
  codeOf,
  expectProblem,
  refusedBeforeTheService,
  send,
  type Raw,
} from './answers.js';
import { bodyText } from './arbitraries.js';
import { fuzzProperty } from './fuzzProperty.js';
import { COMBINATION, tally, writeReport } from './fuzzReport.js';

const VAULT = 'vault-secret-0123456789abcdef';
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Property-based fuzzing of the API (fast-check): commands, queries, audit and token
 * routes, and paths that lead nowhere, with odd bodies, headers, methods and encodings.
 * For every request: no 5xx (but the documented `projection-lagging` for a `minPosition`
 * the read model has not reached), every error a problem document with the documented
 * fields (but the HTTP parser's, before the service: a URL over 16 KB), nothing appended
 * to the log by a refused request or by any read; a command's success answers with its
 * position; an Idempotency-Key repeat gets the first answer, and appends nothing.
 */
describe(`fuzzing the API on ${COMBINATION.stores}`, () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let world: ApiWorld;
  const figures = tally('api');
  const head = () => service.services.store.headPosition();

  beforeAll(async () => {
    providers = await startProviderStandIns();
    service = await startTestService({
      ...providers.env,
      SERVICE_TOKENS: `tester=${TOKEN},reader:queries=${READER},auditor:audit=${AUDITOR},vault:tokens=${VAULT}`,
      MIN_POSITION_WAIT_MS: '200',
      API_RATE_LIMIT_PER_MINUTE: '100000',
      AUTH_RATE_LIMIT_PER_MINUTE: '100000',
      MAX_IN_FLIGHT_COMMANDS: '1000',
    });
    world = await makeWorld(service);
  });
  afterAll(async () => {
    writeReport(figures.figures());
    await service?.stop();
    await providers?.close();
    if (service) removeDataDir(service);
  });

  /** Users of every status, identities, a password user and a signed-in browser. */
  const makeWorld = async (running: TestService): Promise<ApiWorld> => {
    const api = apiClient(running.url, running.services.store);
    const browser = cookieBrowser();
    await signInWith(browser, running.url, 'github', {
      id: '4242',
      email: 'fuzz.one@example.com',
      emailVerified: true,
    });
    const signedIn = (await api.get('/api/identities/github/4242')).body.userId as string;
    const linked = await registerViaProvider(api, 'google', 'fz-g-1', {
      email: 'fuzz.two@example.com',
      emailVerified: true,
    });
    await api.command('link-provider', {
      userId: linked.userId,
      provider: 'github',
      subject: 'fz-gh-2',
    });
    const local = await api.command('register-local-user', {
      username: 'fuzzer_two',
      password: 'a fuzzing password',
      email: 'fuzz.three@example.com',
    });
    const merged = await registerViaProvider(api, 'google', 'fz-g-merged');
    await api.command('merge-users', {
      survivorId: linked.userId,
      mergedId: merged.userId,
    });
    const erased = await registerViaProvider(api, 'github', 'fz-gh-erased');
    await api.command('erase-user', { userId: erased.userId });

    const session = JSON.parse(
      (await browser.get(`${running.url}/auth/session`)).html,
    ) as {
      csrfToken: string;
    };
    const cookie = (await browser.cookies(running.url))
      .map((c) => c.cookieString())
      .join('; ');
    return {
      userIds: [signedIn, linked.userId, local.body.userId, merged.userId, erased.userId],
      subjects: ['4242', 'fz-g-1', 'fz-gh-2', 'fz-g-merged', 'fz-gh-erased', '1'],
      emails: ['fuzz.one@example.com', 'fuzz.two@example.com', 'fuzz.three@example.com'],
      usernames: ['fuzzer_two'],
      vaultToken: VAULT,
      session: { cookie, csrf: session.csrfToken },
    };
  };

  const sendCase = (c: ApiCase): Promise<Raw> => {
    const headers = { ...c.headers };
    let body: string | Blob | undefined;
    if (c.body) {
      const text = bodyText(c.body);
      if (c.contentType === null) body = new Blob([text]);
      else {
        headers['content-type'] = c.contentType ?? 'application/json';
        body = text;
      }
    }
    return send(`${service.url}${c.path}`, { method: c.method, headers, body });
  };

  /** A 503 the contract provides for: a valid `minPosition` the read model has not reached. */
  const lagging = (c: ApiCase, reply: Raw): boolean => {
    const positions = new URL(c.path, service.url).searchParams.getAll('minPosition');
    return (
      reply.status === 503 &&
      // A HEAD answer has no body to name its code.
      (c.method === 'HEAD' || codeOf(reply) === 'projection-lagging') &&
      positions.length === 1 &&
      /^\d{1,40}$/.test(positions[0]!)
    );
  };

  /** The properties every API request must have. */
  const judge = async (property: string, c: ApiCase): Promise<void> => {
    const before = await head();
    const reply = await sendCase(c);
    const documented = lagging(c, reply) ? 'projection-lagging' : undefined;
    figures.answer(property, reply.status, documented);
    const seen = `${c.method} ${c.path} -> ${reply.status} ${reply.text.slice(0, 400)}`;

    // 1. No 5xx, but the documented one.
    expect(reply.status < 500 || documented !== undefined, seen).toBe(true);
    // 2. Every error a problem document (a HEAD answer has no body to check), but the
    //    HTTP parser's, which come before the service (a URL over 16 KB).
    //    A path that leaves /api once its dot segments are resolved (`/api/%2e%2e`) is
    //    the browser side's, which answers browsers with pages.
    const early = refusedBeforeTheService(reply);
    if (early) figures.note(property, `${reply.status} from the HTTP parser`);
    const api = new URL(c.path, service.url).pathname.startsWith('/api/');
    if (!api) figures.note(property, 'resolved to a path outside /api');
    if (reply.status >= 400 && c.method !== 'HEAD' && !early && api) expectProblem(reply);
    // 3. Nothing appended by a refusal, nor by anything but a command.
    const after = await head();
    const command = c.method === 'POST' && c.path.startsWith('/api/commands/');
    if (reply.status >= 400 || !command) expect(after, seen).toBe(before);
    // 4. A command's success names what it appended, and where.
    if (reply.status < 300 && command) {
      const answer = JSON.parse(reply.text) as {
        userId: string;
        revision: number;
        position: string;
        events: string[];
      };
      expect(answer, seen).toEqual({
        userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        revision: expect.any(Number),
        position: expect.stringMatching(/^\d+$/),
        events: expect.any(Array),
      });
      if (answer.events.length > 0) expect(BigInt(answer.position), seen).toBe(after);
      else expect(after, seen).toBe(before);
    }
    // 5. The same request with the same Idempotency-Key: the first answer, nothing new.
    const key = c.headers['idempotency-key'];
    if (
      c.repeat &&
      command &&
      !early &&
      key !== undefined &&
      KEY.test(key.replace(/^[ \t]+|[ \t]+$/g, ''))
    ) {
      const again = await sendCase(c);
      figures.answer(property, again.status);
      expect(again.status, seen).toBe(reply.status);
      expect(JSON.parse(again.text), seen).toEqual(JSON.parse(reply.text));
      expect(await head(), seen).toBe(after);
    }
  };

  const property = (name: string, share: number, cases: () => fc.Arbitrary<ApiCase>) =>
    fuzzProperty(figures, { name, share, msPerCase: 500 }, cases, (c) => judge(name, c));

  // Reads first, while the users made above are as they were made; commands change them.
  property('queries', 0.15, () => apiCases(world).queries);
  property('audit routes', 0.08, () => apiCases(world).audit);
  property('the token route', 0.05, () => apiCases(world).tokens);
  property('paths that lead nowhere', 0.05, () => apiCases(world).elsewhere);
  property('commands', 0.25, () => apiCases(world).commands);
});
