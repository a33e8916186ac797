import { createMemoryReadModel } from '../../src/projections/memory.js';
import { describeReadModelContract } from './readModelContract.js';

describeReadModelContract(
  'in memory',
  async () => ({
    fresh: async () => createMemoryReadModel(),
    cleanup: async () => {},
  }),
  { keepsCheckpointApart: false },
);
