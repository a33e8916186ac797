import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/eventstore/port.js';
import type { ReadModel } from '../../src/projections/port.js';
import {
  startProjectionRunner,
  type Leadership,
  type ProjectionRunner,
  type Switchable,
} from '../../src/projections/runner.js';
import { commandSpec, profile, type CommandSpec } from '../support/commandSpec.js';
import { mapReadModel } from '../support/mapReadModel.js';
import { referenceReplay } from '../support/replay.js';
import { testLogger } from '../support/service.js';

/**
 * A read model that can be switched to another one (as a rebuild switches MongoDB
 * versions), applies slowly (so batches queue up behind each other), and can be taken
 * down (as a database outage).
 */
const switchable = (first: ReadModel) => {
  let current = first;
  const listeners: (() => void)[] = [];
  const control = { down: false, delayMs: 15 };
  const model: ReadModel & Switchable = {
    position: () => current.position(),
    apply: async (events, options) => {
      const target = current;
      await sleep(control.delayMs);
      if (control.down) throw new Error('the database is down');
      await target.apply(events, options);
    },
    getUser: (id) => current.getUser(id),
    getIdentity: (identity) => current.getIdentity(identity),
    findUsersByEmail: (email) => current.findUsersByEmail(email),
    listOpenClaims: () => current.listOpenClaims(),
    dropOpenClaim: (stream, position) => current.dropOpenClaim(stream, position),
    close: async () => {},
    onSwitch: (listener) => listeners.push(listener),
  };
  return {
    model,
    control,
    switchTo: (next: ReadModel) => {
      current = next;
      listeners.forEach((listener) => listener());
    },
  };
};

/** A lead that the test gives and takes away, as a lease renewal failing would. */
const leadership = () => {
  let leader = true;
  const listeners: (() => void)[] = [];
  const lead: Leadership & { set: (next: boolean) => void } = {
    isLeader: () => leader,
    onChange: (listener) => listeners.push(listener),
    set: (next) => {
      leader = next;
      listeners.forEach((listener) => listener());
    },
  };
  return lead;
};

describe('the projection runner never skips events', () => {
  let spec: CommandSpec;
  let runner: ProjectionRunner | null = null;
  afterEach(async () => {
    await runner?.stop();
    await spec.close();
  });

  const register = (subject: string) =>
    spec.run({
      name: 'register-via-provider',
      input: {
        provider: 'github',
        subject,
        profile: profile(`${subject}@example.com`, true),
      },
    });

  const log = (): Promise<StoredEvent[]> =>
    spec.store.readAll({ after: null, limit: 100_000 });

  /** Every user and identity the log has, as the model shows them and as a replay does. */
  const compareWithReplay = async (model: ReadModel) => {
    const events = await log();
    const replay = referenceReplay(events);
    const users = [
      ...new Set(
        events
          .filter((e) => e.type === 'UserRegistered')
          .map((e) => e.data.userId as string),
      ),
    ];
    const identities = events
      .filter((e) => e.type === 'IdentityClaimed')
      .map((e) => ({ provider: 'github', subject: e.data.subject as string }));
    expect(users.length).toBeGreaterThan(20);
    for (const userId of users)
      expect(await model.getUser(userId)).toEqual(await replay.getUser(userId));
    for (const identity of identities)
      expect(await model.getIdentity(identity)).toEqual(
        await replay.getIdentity(identity),
      );
    expect(await model.position()).toBe(events.at(-1)!.position);
  };

  it('drops the batches queued for the old read model when it is switched, and goes on from the new checkpoint', async () => {
    spec = await commandSpec();
    const old = mapReadModel();
    const live = switchable(old);
    runner = await startProjectionRunner({
      store: spec.store,
      readModel: live.model,
      logger: testLogger(),
      batchSize: 4,
    });
    for (let i = 0; i < 10; i += 1) await register(`before-${i}`);

    // Commands go on; the old model has batches queued behind its slow writes when a
    // rebuilt version is switched to, caught up to a little behind what the old one has
    // applied (a rebuild's last catch-up lags the live runner).
    const writer = (async () => {
      for (let i = 0; i < 20; i += 1) await register(`during-${i}`);
    })();
    await sleep(30);
    const rebuilt = mapReadModel();
    const applied = (await old.position())!;
    const sofar = (await log()).filter((event) => event.position <= applied);
    await rebuilt.apply(sofar.slice(0, -6), { after: null });
    live.switchTo(rebuilt);
    await writer;

    const head = (await spec.store.headPosition())!;
    expect(await runner.waitFor(head, 5000)).toBe(true);
    await compareWithReplay(rebuilt);
  });

  it('loses nothing when the database comes back while batches wait and the lead was lost', async () => {
    spec = await commandSpec();
    const live = switchable(mapReadModel());
    const lead = leadership();
    runner = await startProjectionRunner({
      store: spec.store,
      readModel: live.model,
      logger: testLogger(),
      batchSize: 4,
      leadership: lead,
    });
    for (let i = 0; i < 8; i += 1) await register(`up-${i}`);
    expect(await runner.waitFor((await spec.store.headPosition())!, 3000)).toBe(true);

    // The database goes down while commands keep coming: batches fail and queue up.
    live.control.down = true;
    for (let i = 0; i < 16; i += 1) await register(`down-${i}`);
    await sleep(150);
    expect(runner.healthy()).toBe(false);
    // The lease cannot be renewed, so the lead is lost; in the same moment the database
    // is back. Batches that were waiting must not land out of order.
    live.control.down = false;
    lead.set(false);
    await sleep(100);
    lead.set(true);

    const head = (await spec.store.headPosition())!;
    expect(await runner.waitFor(head, 10_000)).toBe(true);
    await compareWithReplay(live.model);
    expect(runner.healthy()).toBe(true);
  });

  it('gives a slow read model the events that arrived during a batch as one batch, not one batch each', async () => {
    spec = await commandSpec();
    const live = switchable(mapReadModel());
    live.control.delayMs = 200;
    const sizes: number[] = [];
    const apply = live.model.apply;
    live.model.apply = (events, options) => {
      sizes.push(events.length);
      return apply(events, options);
    };
    runner = await startProjectionRunner({
      store: spec.store,
      readModel: live.model,
      logger: testLogger(),
    });
    // 30 commands one after another, each answered before the next is sent: while the
    // first batch takes 200 ms, the others arrive one turn of the event loop at a time.
    for (let i = 0; i < 30; i += 1) await register(`slow-${i}`);
    const head = (await spec.store.headPosition())!;
    expect(await runner.waitFor(head, 10_000)).toBe(true);

    const events = (await log()).length;
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(events);
    expect(events).toBeGreaterThanOrEqual(60);
    // Without grouping, each command's events were a batch of their own (30 batches of
    // 6 s in all); grouped, the few batches are the first and what queued behind it.
    expect(sizes.length).toBeLessThanOrEqual(5);
    await compareWithReplay(live.model);
  });
});
