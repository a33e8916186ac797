/**
 * What the load sends, and what the client believes it has done. Each client loop owns its
 * users and identities, so with every answer it knows exactly how they must stand; the
 * checks compare that belief with the log after the kills.
 */

export type Provider = 'github' | 'google';
export const PROVIDERS: Provider[] = ['github', 'google'];

export interface Identity {
  provider: Provider;
  subject: string;
}

export type CommandName =
  | 'register-via-provider'
  | 'link-provider'
  | 'unlink-provider'
  | 'merge-users'
  | 'erase-user';

export interface SentCommand {
  seq: number;
  loop: number;
  name: CommandName;
  body: Record<string, unknown>;
  /** The Idempotency-Key, the same on every attempt. */
  key: string;
  /** Sent as X-Correlation-Id on every attempt, so the log's events can be found. */
  correlationId: string;
  /** The users this command changes (a new user's id is known from its answer only). */
  users: string[];
  identity: Identity | null;
  attempts: number;
  /** Attempts that a kill cut off before an answer came. */
  cut: number;
  /** The final answer (not 5xx): null while there is none. */
  status: number | null;
  answer: Record<string, unknown> | null;
  /** Which start of the service gave the final answer. */
  answeredBy: number | null;
  /** Given up after a kill, as a client may do: what it left half-done is the reconciler's. */
  abandoned: boolean;
}

/** A user as the client expects the log to show it at the end. */
export interface ExpectedUser {
  userId: string;
  status: 'active' | 'merged' | 'erased';
  identities: Identity[];
  mergedInto: string | null;
}

/** Mostly registrations and links, as a site with new people arriving would see. */
const MIX: Array<[CommandName, number]> = [
  ['register-via-provider', 0.4],
  ['link-provider', 0.3],
  ['unlink-provider', 0.12],
  ['merge-users', 0.09],
  ['erase-user', 0.09],
];

/** A small seeded generator (mulberry32): the same seed, the same choices. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

/**
 * One client loop's world: the active users it created and is sure of, and every user
 * whose final state it can tell. Users touched by an abandoned or refused command become
 * uncertain: they leave the pool and the expectations, but stay in every other check.
 */
export const clientWorld = (options: {
  loop: number;
  tag: string;
  random: () => number;
  nextSeq: () => number;
}) => {
  const { random } = options;
  const pool: ExpectedUser[] = [];
  const expected = new Map<string, ExpectedUser>();
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;

  const command = (
    name: CommandName,
    body: Record<string, unknown>,
    users: string[],
    identity: Identity | null,
    seq: number,
  ): SentCommand => ({
    seq,
    loop: options.loop,
    name,
    body,
    key: `${options.tag}-${seq}`,
    correlationId: `crash-${options.tag}-${seq}`,
    users,
    identity,
    attempts: 0,
    cut: 0,
    status: null,
    answer: null,
    answeredBy: null,
    abandoned: false,
  });

  const profile = (seq: number) => ({
    displayName: `Crash ${seq}`,
    email: `crash-${options.tag}-${seq}@example.test`,
    emailVerified: random() < 0.5,
  });

  const register = (seq: number): SentCommand => {
    const identity = { provider: pick(PROVIDERS), subject: `${options.tag}-${seq}` };
    return command(
      'register-via-provider',
      { ...identity, profile: profile(seq) },
      [],
      identity,
      seq,
    );
  };

  /** The next command: the mix's choice where the pool allows it, else a registration. */
  const next = (): SentCommand => {
    const seq = options.nextSeq();
    let roll = random();
    const [name] = MIX.find(([, weight]) => (roll -= weight) < 0) ?? MIX[0]!;
    switch (name) {
      case 'link-provider': {
        const lonely = pool.filter((user) => user.identities.length === 1);
        if (lonely.length === 0) break;
        const user = pick(lonely);
        const provider = PROVIDERS.find((p) => p !== user.identities[0]!.provider)!;
        const identity = { provider, subject: `${options.tag}-${seq}` };
        const body = { userId: user.userId, ...identity, profile: profile(seq) };
        return command(name, body, [user.userId], identity, seq);
      }
      case 'unlink-provider': {
        const linked = pool.filter((user) => user.identities.length === 2);
        if (linked.length === 0) break;
        const user = pick(linked);
        const identity = pick(user.identities);
        return command(
          name,
          { userId: user.userId, ...identity },
          [user.userId],
          identity,
          seq,
        );
      }
      case 'merge-users': {
        // Disjoint providers, so that the survivor keeps one identity per provider.
        const github = pool.filter(only('github'));
        const google = pool.filter(only('google'));
        if (github.length === 0 || google.length === 0) break;
        const [survivor, merged] =
          random() < 0.5 ? [pick(github), pick(google)] : [pick(google), pick(github)];
        const body = { survivorId: survivor.userId, mergedId: merged.userId };
        return command(name, body, [survivor.userId, merged.userId], null, seq);
      }
      case 'erase-user': {
        if (pool.length <= 4) break;
        const user = pick(pool);
        return command(name, { userId: user.userId }, [user.userId], null, seq);
      }
    }
    return register(seq);
  };

  /** Takes in the final answer (or the abandonment) of a command this loop sent. */
  const learn = (sent: SentCommand): void => {
    const ok = sent.status !== null && sent.status < 300;
    if (!ok) {
      sent.users.forEach(forget);
      return;
    }
    const userOf = (userId: string) => pool.find((user) => user.userId === userId)!;
    switch (sent.name) {
      case 'register-via-provider': {
        const user: ExpectedUser = {
          userId: String(sent.answer!.userId),
          status: 'active',
          identities: [sent.identity!],
          mergedInto: null,
        };
        pool.push(user);
        expected.set(user.userId, user);
        return;
      }
      case 'link-provider':
        userOf(sent.users[0]!).identities.push(sent.identity!);
        return;
      case 'unlink-provider': {
        const user = userOf(sent.users[0]!);
        user.identities = user.identities.filter(
          (held) => held.subject !== sent.identity!.subject,
        );
        return;
      }
      case 'merge-users': {
        const [survivor, merged] = sent.users.map(userOf) as [ExpectedUser, ExpectedUser];
        survivor.identities.push(...merged.identities);
        merged.identities = [];
        merged.status = 'merged';
        merged.mergedInto = survivor.userId;
        pool.splice(pool.indexOf(merged), 1);
        return;
      }
      case 'erase-user': {
        const user = userOf(sent.users[0]!);
        user.identities = [];
        user.status = 'erased';
        pool.splice(pool.indexOf(user), 1);
        // The users merged into it, however deep, are erased with it.
        const erased = new Set([user.userId]);
        for (let grew = true; grew;) {
          grew = false;
          for (const other of expected.values()) {
            if (other.status !== 'merged' || !erased.has(other.mergedInto!)) continue;
            other.status = 'erased';
            erased.add(other.userId);
            grew = true;
          }
        }
        return;
      }
    }
  };

  // A user whose last command has no known outcome, with those merged into it: an erasure
  // of it that went through, unanswered, took them too.
  const forget = (userId: string): void => {
    expected.delete(userId);
    const index = pool.findIndex((user) => user.userId === userId);
    if (index >= 0) pool.splice(index, 1);
    for (const other of [...expected.values()]) {
      if (other.status === 'merged' && other.mergedInto === userId) forget(other.userId);
    }
  };

  return { next, learn, expected: () => [...expected.values()] };
};

const only =
  (provider: Provider) =>
  (user: ExpectedUser): boolean =>
    user.identities.length === 1 && user.identities[0]!.provider === provider;
