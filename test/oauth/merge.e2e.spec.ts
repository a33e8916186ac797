import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cookieBrowser,
  csrfOf,
  fieldValue,
  textOf,
  type CookieBrowser,
  type Page,
} from '../support/browser.js';
import { apiClient, type ApiClient } from '../support/client.js';
import { postFromAccount, signInWith, signInWithPassword } from '../support/flows.js';
import { consent, startProviderStandIns, type Person } from '../support/providers.js';
import type { ProviderStandIns } from '../support/providers.js';
import {
  AUDITOR,
  removeDataDir,
  startTestService,
  type TestService,
} from '../support/service.js';

const gh = (id: string, name = `Octo ${id}`): Person => ({
  id,
  login: `octo${id}`,
  name,
  email: `octo${id}@example.com`,
  emailVerified: true,
});
const gg = (id: string, name = `Ann ${id}`): Person => ({
  id,
  name,
  email: `ann${id}@example.com`,
  emailVerified: true,
});

describe('merging a second account from the account page', () => {
  let providers: ProviderStandIns;
  let service: TestService;
  let api: ApiClient;

  beforeAll(async () => {
    providers = await startProviderStandIns();
    service = await startTestService(providers.env);
    api = apiClient(service.url, service.services.store);
  });
  afterAll(async () => {
    await service.stop();
    await providers.close();
    removeDataDir(service);
  });

  const holderOf = async (provider: string, subject: string) =>
    (await api.get(`/api/identities/${provider}/${subject}`)).body.userId as string;

  /** From the account page, proves the other account by signing in with a provider. */
  const proveWith = async (
    browser: CookieBrowser,
    provider: 'github' | 'google',
    person: Person,
  ): Promise<Page> => {
    const atProvider = await postFromAccount(
      browser,
      service.url,
      `/auth/${provider}/merge`,
      {},
    );
    return consent(browser, atProvider, provider, person);
  };

  const confirm = (browser: CookieBrowser, page: Page): Promise<Page> =>
    browser.post(`${service.url}/account/merge`, {
      _csrf: csrfOf(page.html),
      mergedId: fieldValue(page.html, 'mergedId'),
    });

  it('merges the account a person proves with GitHub: its identity moves here, with its history, and signs in here', async () => {
    const mine = cookieBrowser();
    await signInWith(mine, service.url, 'google', gg('m-1', 'Main Me'));
    const survivorId = await holderOf('google', 'm-1');
    const elsewhere = cookieBrowser();
    await signInWith(elsewhere, service.url, 'github', gh('m-2', 'Second Me'));
    const mergedId = await holderOf('github', 'm-2');
    expect(mergedId).not.toBe(survivorId);

    const account = await mine.get(`${service.url}/account`);
    expect(textOf(account.html)).toContain('Merge another account into this one');
    const proposal = await proveWith(mine, 'github', gh('m-2', 'Second Me'));
    expect(proposal.url).toBe(`${service.url}/account/merge`);
    expect(textOf(proposal.html)).toContain('Merge your other account into this one?');
    expect(textOf(proposal.html)).toContain('Second Me');
    // Nothing has changed before the person confirms.
    expect(await holderOf('github', 'm-2')).toBe(mergedId);

    const done = await confirm(mine, proposal);
    expect(done.url).toBe(`${service.url}/account`);
    expect(textOf(done.html)).toContain('The other account was merged into this one');
    expect(textOf(done.html)).toContain('octom-2@example.com');

    // The identity is the survivor's now, and the absorbed user points there.
    expect(await holderOf('github', 'm-2')).toBe(survivorId);
    const absorbed = await api.get(`/api/users/${mergedId}`);
    expect(absorbed.body).toMatchObject({ status: 'merged', mergedInto: survivorId });
    const refused = await api.command('link-provider', {
      userId: mergedId,
      provider: 'google',
      subject: 'm-9',
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'user-merged', mergedInto: survivorId });

    // With full history: who held it, when, and that it moved by a merge.
    const history = await api.get<{ holders: Record<string, unknown>[] }>(
      '/api/audit/identities/github/m-2',
      { token: AUDITOR },
    );
    expect(history.body.holders).toMatchObject([
      { userId: mergedId, purpose: 'register', ended: 'merged' },
      { userId: survivorId, purpose: 'merge', previousUserId: mergedId, to: null },
    ]);
    const events = await api.get<{
      events: { type: string; metadata: { flow: string } }[];
    }>(`/api/audit/users/${survivorId}/events`, { token: AUDITOR });
    expect(events.body.events.find((e) => e.type === 'UsersMerged')!.metadata.flow).toBe(
      'merge',
    );

    // The other browser's session was of the closed account; GitHub now signs in here.
    const closed = await elsewhere.get(`${service.url}/account`);
    expect(closed.status).toBe(410);
    const again = await signInWith(cookieBrowser(), service.url, 'github', gh('m-2'));
    expect(again.url).toBe(`${service.url}/account`);
    expect(textOf(again.html)).toContain('Signed in as Main Me');
  });

  it('merges an account proven by its username and password', async () => {
    const mine = cookieBrowser();
    await signInWith(mine, service.url, 'github', gh('p-1', 'Main P'));
    const survivorId = await holderOf('github', 'p-1');
    const other = await api.command('register-local-user', {
      username: 'second-p',
      password: 'second password here',
    });
    expect(other.status).toBe(201);

    const wrong = await postFromAccount(mine, service.url, '/account/merge/password', {
      username: 'second-p',
      password: 'not the password',
    });
    expect(textOf(wrong.html)).toContain('password of the other account is not right');

    const proposal = await postFromAccount(mine, service.url, '/account/merge/password', {
      username: 'second-p',
      password: 'second password here',
    });
    expect(textOf(proposal.html)).toContain('You proved with its password');
    expect(textOf(proposal.html)).toContain('username and password are not carried over');
    const done = await confirm(mine, proposal);
    expect(textOf(done.html)).toContain('The other account was merged into this one');
    expect((await api.get(`/api/users/${other.body.userId}`)).body).toMatchObject({
      status: 'merged',
      mergedInto: survivorId,
    });
    // The closed account's password no longer signs in; proven, it says where it went.
    const browser = cookieBrowser();
    const signIn = await signInWithPassword(
      browser,
      service.url,
      'second-p',
      'second password here',
    );
    expect(textOf(signIn.html)).toContain('This account was merged into another one');
    expect((await browser.get(`${service.url}/account`)).url).toBe(`${service.url}/`);
    // Proven again from another account's page: nothing is left in it to merge.
    const later = cookieBrowser();
    await signInWith(later, service.url, 'github', gh('p-2', 'Later P'));
    const again = await postFromAccount(later, service.url, '/account/merge/password', {
      username: 'second-p',
      password: 'second password here',
    });
    expect(textOf(again.html)).toContain(
      'That account was merged into another one already',
    );
    const guessed = await signInWithPassword(
      cookieBrowser(),
      service.url,
      'second-p',
      'not the password',
    );
    expect(textOf(guessed.html)).toContain('username or password is not right');
  });

  it('merges nothing without a proof of this session: unheld or own identities, forged or stale confirmations', async () => {
    const mine = cookieBrowser();
    await signInWith(mine, service.url, 'github', gh('r-1'));
    const survivorId = await holderOf('github', 'r-1');
    const victim = await api.command('register-via-provider', {
      provider: 'google',
      subject: 'r-victim',
      profile: {},
    });

    // An identity nobody holds: nothing to merge, and it is not linked by the way.
    const unheld = await proveWith(mine, 'google', gg('r-free'));
    expect(textOf(unheld.html)).toContain('No account here signs in with that Google');
    expect((await api.get('/api/identities/google/r-free')).status).toBe(404);
    // The account's own identity: nothing to merge.
    const own = await proveWith(mine, 'github', gh('r-1'));
    expect(textOf(own.html)).toContain('nothing to merge');

    // A confirmation naming an account this session did not prove.
    const account = await mine.get(`${service.url}/account`);
    const forged = await mine.post(`${service.url}/account/merge`, {
      _csrf: csrfOf(account.html),
      mergedId: victim.body.userId,
    });
    expect(forged.status).toBe(400);
    expect((await api.get(`/api/users/${victim.body.userId}`)).body).toMatchObject({
      status: 'active',
    });

    // A proof made in one session is not usable from another, even of the same user.
    const proposal = await proveWith(mine, 'google', gg('r-victim'));
    expect(textOf(proposal.html)).toContain('Merge your other account');
    const sameUserElsewhere = cookieBrowser();
    await signInWith(sameUserElsewhere, service.url, 'github', gh('r-1'));
    const page = await sameUserElsewhere.get(`${service.url}/account`);
    const replayed = await sameUserElsewhere.post(`${service.url}/account/merge`, {
      _csrf: csrfOf(page.html),
      mergedId: victim.body.userId,
    });
    expect(replayed.status).toBe(400);
    // Cancelled, the proof is gone.
    await mine.post(`${service.url}/account/merge/cancel`, {
      _csrf: csrfOf(proposal.html),
    });
    const afterCancel = await confirm(mine, proposal);
    expect(afterCancel.status).toBe(400);
    expect(await holderOf('google', 'r-victim')).toBe(victim.body.userId);
    expect(await holderOf('github', 'r-1')).toBe(survivorId);
  });

  it('sends every sign-in during a merge to one of the two users, and all after it to the survivor', async () => {
    const survivor = await api.command('register-via-provider', {
      provider: 'google',
      subject: 'c-survivor',
      profile: { displayName: 'Survivor C' },
    });
    const merged = await api.command('register-via-provider', {
      provider: 'github',
      subject: 'c-merged',
      profile: { displayName: 'Merged C' },
    });
    const before = (await api.get('/api/audit/verify', { token: AUDITOR })).body
      .users as number;

    // Sign-ins with the merged user's identity race the merge.
    const signIns = Array.from({ length: 8 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 3));
      const browser = cookieBrowser();
      const page = await signInWith(browser, service.url, 'github', gh('c-merged'));
      return { page, browser };
    });
    const merge = api.command('merge-users', {
      survivorId: survivor.body.userId,
      mergedId: merged.body.userId,
    });
    const [mergeReply, ...results] = await Promise.all([merge, ...signIns]);
    expect(mergeReply.status).toBe(200);

    for (const { page, browser } of results) {
      // Signed in as one of the two (the merged one only if it came first), never a
      // third user, never an error page.
      expect(page.url).toBe(`${service.url}/account`);
      const session = await browser.get(`${service.url}/auth/session`);
      expect([survivor.body.userId, merged.body.userId]).toContain(
        (JSON.parse(session.html) as { userId: string }).userId,
      );
    }
    expect(await holderOf('github', 'c-merged')).toBe(survivor.body.userId);
    const after = await signInWith(
      cookieBrowser(),
      service.url,
      'github',
      gh('c-merged'),
    );
    expect(textOf(after.html)).toContain('Signed in as Survivor C');

    const report = (await api.get('/api/audit/verify', { token: AUDITOR })).body;
    expect(report).toMatchObject({ ok: true, users: before });
  });
});
