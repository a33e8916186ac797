import type { CookieBrowser, Page } from '../support/browser.js';
import type { CommandAnswer, Reply } from '../support/client.js';
import type { IdentityRef, RaceWorld } from './raceWorld.js';

/** One round of one pair: two commands at once, on identities no other round uses. */
export interface Round {
  world: RaceWorld;
  variant: string;
  race: ReturnType<RaceWorld['racer']>;
  /** A subject of this round's own. */
  subject: (label: string) => string;
}

export interface RoundReport {
  /** What happened, in a few words: which side won, for the tally of interleavings. */
  outcome: string;
  /** The pair's rules this round broke, in words. */
  failures: string[];
  users: string[];
  identities: IdentityRef[];
  /** Who may ever have held each identity, by the log: these users, or one user only. */
  holders: { identity: IdentityRef; mayBe: string[] | 'one-user' }[];
}

/** A dangerous pair of concurrent commands, and the rules its outcome must follow. */
export interface RacePair {
  name: string;
  variants: readonly string[];
  run: (round: Round) => Promise<RoundReport>;
}

type Answer = Reply<CommandAnswer>;

/** Two first sign-ins (or registrations) of one new identity: one user, both get it. */
const firstSignIns: RacePair = {
  name: 'two first sign-ins of one identity',
  variants: ['api+api', 'browser+browser', 'api+browser'],
  run: async ({ world, variant, race, subject }) => {
    const { failures, rule } = judge();
    const identity = github(subject('first'));
    type Side = 'api' | 'browser';
    type Attempt =
      | { side: 'api'; reply: Answer }
      | { side: 'browser'; browser: CookieBrowser; page: Page };
    const prepare = async (side: Side): Promise<() => Promise<Attempt>> => {
      if (side === 'api') {
        return async () => ({
          side,
          reply: await world.command('register-via-provider', {
            ...identity,
            profile: { displayName: 'First Racer' },
          }),
        });
      }
      const started = await world.startSignIn(identity);
      return async () => ({
        side,
        browser: started.browser,
        page: await started.finish(),
      });
    };
    const [a, b] = await Promise.all((variant.split('+') as Side[]).map(prepare));
    const answers = await race(
      a!,
      b!,
      variant === 'api+browser' ? { browser: 'second' } : {},
    );

    const { userId: holder } = await world.holding(identity);
    rule(holder !== null, 'the identity ends with no user');
    const outcome: string[] = [];
    for (const answer of answers) {
      if (answer.side === 'api') {
        const { status, body } = answer.reply;
        outcome.push(`api ${said(answer.reply)}`);
        if (status === 201) {
          rule(
            body.userId === holder,
            `201 names ${body.userId}, the holder is ${holder}`,
          );
        } else {
          rule(
            isAlreadyLinked(answer.reply, holder),
            `the loser got ${said(answer.reply)} naming ${body.userId}, not ${holder}`,
          );
        }
      } else {
        const signedInAs = await world.sessionUser(answer.browser);
        outcome.push(`browser ${signedInAs ? 'signed in' : 'not signed in'}`);
        rule(
          answer.page.url === `${world.url}/account`,
          `sign-in ended at ${shown(answer.page)}`,
        );
        rule(signedInAs === holder, `a browser is not signed in as the holder ${holder}`);
      }
    }
    if (variant === 'api+api') {
      const created = answers.filter((x) => x.side === 'api' && x.reply.status === 201);
      rule(
        created.length === 1,
        `${created.length} of the two registrations created a user`,
      );
    }
    if (holder) {
      const connections = await world.connectionsOf(holder);
      rule(same(connections, [keyOf(identity)]), `the user shows ${connections}`);
    }
    return {
      outcome: outcome.sort().join(' + '),
      failures,
      users: holder ? [holder] : [],
      identities: [identity],
      holders: [{ identity, mayBe: 'one-user' }],
    };
  },
};

/** One identity linked to two different users at once: one of them gets it. */
const linkToTwoUsers: RacePair = {
  name: 'link of one identity to two users',
  variants: ['api+api', 'browser+api'],
  run: async ({ world, variant, race, subject }) => {
    const { failures, rule } = judge();
    const identity = google(subject('contested'));
    const own = { first: github(subject('first')), second: github(subject('second')) };
    let browser: CookieBrowser | null = null;
    let first: string;
    if (variant === 'browser+api') {
      browser = (await world.signIn(own.first)).browser;
      first = await setupHolder(world, own.first);
    } else {
      first = await world.register(own.first);
    }
    const second = await world.register(own.second);

    const linking = browser ? await world.startLink(browser, identity) : null;
    const [mine, theirs] = await race<Answer | { page: Page }, Answer>(
      async () =>
        linking
          ? { page: await linking.finish() }
          : world.command('link-provider', { userId: first, ...identity }),
      () => world.command('link-provider', { userId: second, ...identity }),
      linking ? { browser: 'first' } : {},
    );

    const { userId: holder } = await world.holding(identity);
    rule(holder === first || holder === second, `the identity ends with ${holder}`);
    const judgeLink = (reply: Answer, userId: string, other: string) => {
      if (reply.status === 200) {
        rule(holder === userId, `a link answered 200, yet the holder is ${holder}`);
      } else {
        rule(
          isAlreadyLinked(reply, other) && holder === other,
          `a link got ${said(reply)} naming ${reply.body.userId}; holder ${holder}`,
        );
      }
    };
    judgeLink(theirs, second, first);
    if (!('page' in mine)) {
      judgeLink(mine, first, second);
      rule(
        [mine, theirs].filter((reply) => reply.status === 200).length === 1,
        `answers ${said(mine)} and ${said(theirs)}: not exactly one success`,
      );
    } else {
      // Won: back on the account page; lost: the page saying who holds the identity.
      const { page } = mine;
      rule(
        holder === first
          ? page.url === `${world.url}/account` && page.status === 200
          : page.status === 409 && page.html.includes('already linked to another user'),
        `the browser link ended at ${shown(page)}, holder ${holder}`,
      );
    }
    for (const [userId, ownIdentity] of [
      [first, own.first],
      [second, own.second],
    ] as const) {
      const expected = [ownIdentity, ...(holder === userId ? [identity] : [])];
      const connections = await world.connectionsOf(userId);
      rule(
        same(connections, expected.map(keyOf)),
        `user ${userId} shows ${connections}, holder ${holder}`,
      );
    }
    return {
      outcome: `${variant}: ${holder === first ? 'first' : 'second'} user won`,
      failures,
      users: [first, second],
      identities: [identity, own.first, own.second],
      holders: [{ identity, mayBe: [first, second] }],
    };
  },
};

/** An unlink of an identity while it is being linked (to another user, or again). */
const unlinkRacingLink: RacePair = {
  name: 'unlink racing link of one identity',
  variants: ['to-another-user', 'to-the-same-user'],
  run: async ({ world, variant, race, subject }) => {
    const { failures, rule } = judge();
    const identity = google(subject('moving'));
    const own = { first: github(subject('first')), second: github(subject('second')) };
    const first = await world.register(own.first);
    await world.link(first, identity);
    const second =
      variant === 'to-another-user' ? await world.register(own.second) : first;

    const [unlink, link] = await race(
      () => world.command('unlink-provider', { userId: first, ...identity }),
      () => world.command('link-provider', { userId: second, ...identity }),
    );

    const holding = await world.holding(identity);
    rule(unlink.status === 200, `the unlink was answered ${said(unlink)}`);
    let outcome: string;
    if (variant === 'to-another-user') {
      if (link.status === 200) {
        outcome = 'linked after the unlink';
        rule(holding.userId === second, `linked to ${second}, held by ${holding.userId}`);
      } else {
        outcome = 'link refused before the unlink';
        rule(isAlreadyLinked(link, first), `the link was answered ${said(link)}`);
        rule(holding.status === 'released', `the identity ends ${holding.status}`);
      }
    } else {
      // A link that recorded nothing came before the unlink; one that claimed the identity
      // again, after it. (Its ProviderLinked may be written by the unlink, which finishes
      // any claim it finds when it settles the identity: the link's answer then lists only
      // its claim.)
      const relinked =
        link.status === 200 &&
        ['IdentityClaimed', 'ProviderLinked'].some((type) =>
          link.body.events.includes(type),
        );
      outcome = relinked ? 'linked again after the unlink' : 'link before the unlink';
      rule(link.status === 200, `the link again was answered ${said(link)}`);
      rule(
        relinked ? holding.userId === first : holding.status === 'released',
        `link appended [${link.body.events}], the identity ends ${holding.status}`,
      );
    }
    rule(
      holding.userId === null || holding.userId === second,
      `the identity ends with ${holding.userId}`,
    );
    const users = [...new Set([first, second])];
    const owners: [string, IdentityRef][] = [[first, own.first]];
    if (second !== first) owners.push([second, own.second]);
    for (const [userId, ownIdentity] of owners) {
      const expected = [ownIdentity, ...(holding.userId === userId ? [identity] : [])];
      const connections = await world.connectionsOf(userId);
      rule(
        same(connections, expected.map(keyOf)),
        `user ${userId} shows ${connections}, holder ${holding.userId}`,
      );
    }
    return {
      outcome: `${variant}: ${outcome}`,
      failures,
      users,
      identities: [identity, own.first, ...(users.length > 1 ? [own.second] : [])],
      holders: [{ identity, mayBe: users }],
    };
  },
};

/** A merge while an identity of the absorbed user signs in, registers or is linked. */
const mergeRacingSignIn: RacePair = {
  name: 'merge racing sign-in or link',
  variants: ['register', 'sign-in', 'link-to-survivor', 'link-to-absorbed'],
  run: async ({ world, variant, race, subject }) => {
    const { failures, rule } = judge();
    const own = {
      survivor: google(subject('survivor')),
      merged: github(subject('merged')),
    };
    const fresh = google(subject('fresh'));
    const survivor = await world.register(own.survivor);
    const merged = await world.register(own.merged);

    const signIn = variant === 'sign-in' ? await world.startSignIn(own.merged) : null;
    const other = async (): Promise<Answer | { browser: CookieBrowser; page: Page }> => {
      switch (variant) {
        case 'register':
          return world.command('register-via-provider', { ...own.merged });
        case 'sign-in':
          return { browser: signIn!.browser, page: await signIn!.finish() };
        case 'link-to-survivor':
          return world.command('link-provider', { userId: survivor, ...own.merged });
        default:
          return world.command('link-provider', { userId: merged, ...fresh });
      }
    };
    const [merge, answer] = await race(
      () => world.command('merge-users', { survivorId: survivor, mergedId: merged }),
      other,
      signIn ? { browser: 'second' } : {},
    );

    // 1. The merge happens, unless the absorbed user got a second google identity first.
    const mergedWon = merge.status === 200;
    const linkedFirst =
      variant === 'link-to-absorbed' && 'status' in answer && answer.status === 200;
    rule(
      mergedWon !== linkedFirst,
      `merge ${said(merge)}, other ${'status' in answer ? said(answer) : 'a page'}`,
    );
    if (!mergedWon) {
      rule(
        merge.status === 409 && merge.body.code === 'provider-already-linked',
        `the merge was answered ${said(merge)}`,
      );
    }

    // 2. The other side's answer.
    let outcome: string;
    if ('status' in answer) {
      outcome = said(answer);
      if (variant === 'register') {
        rule(
          isAlreadyLinked(answer, merged) || isAlreadyLinked(answer, survivor),
          `the registration got ${said(answer)} naming ${answer.body.userId}`,
        );
      } else if (variant === 'link-to-survivor') {
        rule(
          answer.status === 200 || isAlreadyLinked(answer, merged),
          `the link to the survivor got ${said(answer)}`,
        );
      } else if (!linkedFirst) {
        rule(
          answer.status === 409 && answer.body.code === 'user-merged',
          `the link to the absorbed user got ${said(answer)}`,
        );
      }
    } else {
      // Signed in to either user; or to the absorbed one just before the merge, whose
      // account page then said it is gone and signed the browser out.
      const { page } = answer;
      const signedInAs = await world.sessionUser(answer.browser);
      const gone = page.status === 410 && signedInAs === null;
      outcome =
        signedInAs === survivor
          ? 'signed in to the survivor'
          : gone
            ? 'signed in to the absorbed user, then told it is gone'
            : 'signed in to the absorbed user';
      rule(page.url === `${world.url}/account`, `sign-in ended at ${shown(page)}`);
      rule(
        (page.status === 200 && (signedInAs === survivor || signedInAs === merged)) ||
          gone,
        `the sign-in ended with ${page.status}, signed in as ${signedInAs}`,
      );
    }
    // Once merged, the absorbed user's identity signs in to the survivor (invariant 8).
    if (mergedWon) {
      if (variant === 'sign-in') {
        const again = await world.signIn(own.merged);
        const signedInAs = await world.sessionUser(again.browser);
        rule(signedInAs === survivor, `a later sign-in ends as ${signedInAs}`);
      } else {
        const again = await world.command('register-via-provider', { ...own.merged });
        rule(isAlreadyLinked(again, survivor), `a later registration got ${said(again)}`);
      }
    }

    // 3. Where everything ends.
    const absorbed = await world.user(merged);
    const identities = [own.survivor, own.merged, fresh];
    const [survivorHas, mergedHas, freshHolding] = await Promise.all([
      world.connectionsOf(survivor),
      world.connectionsOf(merged),
      world.holding(fresh),
    ]);
    if (mergedWon) {
      rule(
        absorbed.status === 'merged' && absorbed.mergedInto === survivor,
        `the absorbed user is ${absorbed.status}, into ${absorbed.mergedInto}`,
      );
      rule(
        same(survivorHas, [own.merged, own.survivor].map(keyOf)),
        `the survivor shows ${survivorHas}`,
      );
      rule(mergedHas.length === 0, `the absorbed user shows ${mergedHas}`);
      rule(
        freshHolding.userId === null,
        `${keyOf(fresh)} is with ${freshHolding.userId}`,
      );
    } else {
      rule(absorbed.status === 'active', `the unmerged user is ${absorbed.status}`);
      rule(
        same(mergedHas, [own.merged, fresh].map(keyOf)),
        `the unmerged user shows ${mergedHas}`,
      );
      rule(same(survivorHas, [keyOf(own.survivor)]), `the survivor shows ${survivorHas}`);
    }
    const mergedHolding = await world.holding(own.merged);
    rule(
      mergedHolding.userId === (mergedWon ? survivor : merged),
      `${keyOf(own.merged)} ends with ${mergedHolding.userId}`,
    );
    return {
      outcome: `${variant}: merge ${said(merge)}, other ${outcome}`,
      failures,
      users: [survivor, merged],
      identities,
      holders: [
        { identity: own.merged, mayBe: [merged, survivor] },
        { identity: fresh, mayBe: [merged] },
      ],
    };
  },
};

/** An erasure of a user while an identity is being linked to it. */
const eraseRacingLink: RacePair = {
  name: 'erase racing link',
  variants: ['api', 'browser'],
  run: async ({ world, variant, race, subject }) => {
    const { failures, rule } = judge();
    const own = github(subject('erased'));
    const fresh = google(subject('fresh'));
    let browser: CookieBrowser | null = null;
    let userId: string;
    if (variant === 'browser') {
      browser = (await world.signIn(own)).browser;
      userId = await setupHolder(world, own);
    } else {
      userId = await world.register(own);
    }

    const linking = browser ? await world.startLink(browser, fresh) : null;
    const [erase, link] = await race<Answer, Answer | { page: Page }>(
      () => world.command('erase-user', { userId }),
      async () =>
        linking
          ? { page: await linking.finish() }
          : world.command('link-provider', { userId, ...fresh }),
      linking ? { browser: 'second' } : {},
    );

    rule(erase.status === 200, `the erasure was answered ${said(erase)}`);
    if (!('page' in link)) {
      rule(
        link.status === 200 || (link.status === 409 && link.body.code === 'user-erased'),
        `the link was answered ${said(link)}`,
      );
    }
    const [user, ownHolding, freshHolding] = await Promise.all([
      world.user(userId),
      world.holding(own),
      world.holding(fresh),
    ]);
    rule(same(Object.keys(user), ['status', 'userId']), 'the erased user shows more');
    rule(user.status === 'erased', `the user ends ${user.status}`);
    rule(ownHolding.status === 'released', `${keyOf(own)} ends ${ownHolding.status}`);
    rule(
      ['never-seen', 'released'].includes(freshHolding.status),
      `${keyOf(fresh)} ends ${freshHolding.status}, with ${freshHolding.userId}`,
    );
    for (const identity of [own, fresh]) {
      rule(!(await world.hasTokens(identity)), `tokens of ${keyOf(identity)} are kept`);
    }
    const linkGotIn = freshHolding.status === 'released';
    const order = linkGotIn ? 'linked, then erased' : 'erased before the link';
    let outcome = `${variant}: ${order}`;
    if (browser && 'page' in link) {
      const signedIn = await world.sessionUser(browser);
      outcome += `, link page ${link.page.status}`;
      outcome += `, session ${signedIn ? 'outlived the erasure' : 'ended'}`;
      rule(signedIn === null, `the browser is still signed in as ${signedIn}`);
    }
    return {
      outcome,
      failures,
      users: [userId],
      identities: [own, fresh],
      holders: [{ identity: fresh, mayBe: [userId] }],
    };
  },
};

/**
 * A merge into a user while that user is erased: the absorbed account is the same person,
 * so it must never outlive the erasure as a merged account (its data readable), however
 * the two interleave. It is erased, or (the merge refused first) left as it was.
 */
const mergeRacingErasure: RacePair = {
  name: 'merge racing erasure of the survivor',
  variants: ['api'],
  run: async ({ world, race, subject }) => {
    const { failures, rule } = judge();
    const own = {
      survivor: github(subject('survivor')),
      merged: google(subject('merged')),
    };
    const survivor = await world.register(own.survivor);
    const merged = await world.register(own.merged);

    const [erase, merge] = await race(
      () => world.command('erase-user', { userId: survivor }),
      () => world.command('merge-users', { survivorId: survivor, mergedId: merged }),
    );
    rule(erase.status === 200, `the erasure was answered ${said(erase)}`);
    const refused = merge.status === 409 && merge.body.code === 'user-erased';
    rule(merge.status === 200 || refused, `the merge was answered ${said(merge)}`);

    const [absorbed, mergedHolding, survivorHolding] = await Promise.all([
      world.user(merged),
      world.holding(own.merged),
      world.holding(own.survivor),
    ]);
    rule(
      survivorHolding.status === 'released',
      `${keyOf(own.survivor)} ends ${survivorHolding.status}`,
    );
    if (absorbed.status === 'active') {
      rule(
        refused,
        `the merge answered ${said(merge)} and left the absorbed user active`,
      );
      rule(
        mergedHolding.userId === merged,
        `${keyOf(own.merged)} is with ${mergedHolding.userId}`,
      );
    } else {
      rule(absorbed.status === 'erased', `the absorbed user ends ${absorbed.status}`);
      rule(
        same(Object.keys(absorbed), ['status', 'userId']),
        'the erased absorbed user shows more',
      );
      rule(
        mergedHolding.status === 'released',
        `${keyOf(own.merged)} ends ${mergedHolding.status}`,
      );
      rule(
        !(await world.hasTokens(own.merged)),
        `tokens of ${keyOf(own.merged)} are kept`,
      );
    }
    return {
      outcome:
        absorbed.status === 'active' ? 'merge refused' : 'merged, then erased with it',
      failures,
      users: [survivor, merged],
      identities: [own.survivor, own.merged],
      holders: [{ identity: own.merged, mayBe: [merged, survivor] }],
    };
  },
};

export const RACE_PAIRS: RacePair[] = [
  firstSignIns,
  linkToTwoUsers,
  unlinkRacingLink,
  mergeRacingSignIn,
  eraseRacingLink,
  mergeRacingErasure,
];

const judge = () => {
  const failures: string[] = [];
  return {
    failures,
    rule: (holds: boolean, message: string) => {
      if (!holds) failures.push(message);
    },
  };
};

const github = (subject: string): IdentityRef => ({ provider: 'github', subject });
const google = (subject: string): IdentityRef => ({ provider: 'google', subject });
export const keyOf = (identity: IdentityRef): string =>
  `${identity.provider}:${identity.subject}`;

const said = (reply: Answer): string =>
  `${reply.status}${reply.body?.code ? ` ${reply.body.code}` : ''}`;

/** A page in a few words: status, path and heading. */
const shown = (page: Page): string => {
  const heading = /<h1>(.*?)<\/h1>/s.exec(page.html)?.[1]?.trim() ?? '';
  return `${page.status} ${new URL(page.url).pathname} "${heading}"`;
};

const isAlreadyLinked = (reply: Answer, holder: string | null): boolean =>
  reply.status === 409 &&
  reply.body.code === 'identity-already-linked' &&
  reply.body.userId === holder;

const same = (actual: string[], expected: string[]): boolean =>
  JSON.stringify([...actual].sort()) === JSON.stringify([...expected].sort());

/** The user a browser's first sign-in created, for a round's setup. */
const setupHolder = async (world: RaceWorld, identity: IdentityRef): Promise<string> => {
  const { userId } = await world.holding(identity);
  if (!userId) throw new Error(`setup: the sign-in with ${keyOf(identity)} made no user`);
  return userId;
};
