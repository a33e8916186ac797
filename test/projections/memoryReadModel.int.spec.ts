import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryReadModel } from '../../src/projections/memory.js';
import { streams } from '../../src/domain/values.js';
import { commandSpec, profile, type CommandSpec } from '../support/commandSpec.js';

describe('the in-memory read model', () => {
  let spec: CommandSpec;
  beforeEach(async () => (spec = await commandSpec()));
  afterEach(() => spec.close());

  const history = async () => {
    const ann = await spec.run({
      name: 'register-via-provider',
      input: {
        provider: 'github',
        subject: '1',
        profile: profile('Ann@example.com', true),
      },
    });
    await spec.run({
      name: 'link-provider',
      input: { userId: ann.userId, provider: 'google', subject: 'g', profile: {} },
    });
    const bob = await spec.run({
      name: 'register-local-user',
      input: {
        username: 'bob',
        password: 'correct horse battery',
        email: 'ann@example.com',
      },
    });
    await spec.run({ name: 'erase-user', input: { userId: bob.userId } });
    return { ann: ann.userId, bob: bob.userId };
  };

  it('gives the same documents when the whole log is applied twice', async () => {
    const { ann, bob } = await history();
    const log = await spec.store.readAll({ after: null, limit: 10_000 });
    const once = createMemoryReadModel();
    await once.apply(log);
    const twice = createMemoryReadModel();
    await twice.apply(log);
    await twice.apply(log);
    await twice.apply(log.slice(2));
    for (const id of [ann, bob])
      expect(await twice.getUser(id)).toEqual(await once.getUser(id));
    expect(await twice.getIdentity({ provider: 'github', subject: '1' })).toEqual(
      await once.getIdentity({ provider: 'github', subject: '1' }),
    );
    expect(await twice.position()).toBe(log.at(-1)!.position);
  });

  it('indexes emails of active users only, after folding', async () => {
    const { ann } = await history();
    const log = await spec.store.readAll({ after: null, limit: 10_000 });
    const model = createMemoryReadModel();
    await model.apply(log);
    expect(
      (await model.findUsersByEmail(' ANN@EXAMPLE.COM ')).map((u) => u.userId),
    ).toEqual([ann]);
  });

  it('keeps no open claim once every command finished', async () => {
    await history();
    const log = await spec.store.readAll({ after: null, limit: 10_000 });
    const model = createMemoryReadModel();
    await model.apply(log);
    expect(await model.listOpenClaims()).toEqual([]);
  });

  it('lists a claim whose owner never settled it', async () => {
    const identity = { provider: 'github', subject: '2' };
    await spec.givenEvents(streams.identity(identity), [
      {
        type: 'IdentityClaimed',
        data: {
          ...identity,
          userId: '00000000-0000-4000-8000-000000000009',
          purpose: 'register',
          previousUserId: null,
        },
      },
    ]);
    const model = createMemoryReadModel();
    await model.apply(await spec.store.readAll({ after: null, limit: 10 }));
    expect(await model.listOpenClaims()).toMatchObject([
      { stream: streams.identity(identity), claimRevision: 0 },
    ]);
  });
});
