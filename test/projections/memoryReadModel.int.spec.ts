import { createMemoryReadModel } from '../../src/projections/memory.js';
import { describeReadModelContract } from './readModelContract.js';

describeReadModelContract(
  'in memory',
  async () => ({
    fresh: async (spec) =>
      createMemoryReadModel({ store: spec.store, emailIndex: spec.keys }),
    readsSealed: true,
    cleanup: async () => {},
  }),
  { keepsCheckpointApart: false },
);
