import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import { tempDir } from '../support/service.js';
import { describeEventStoreContract } from './eventStoreContract.js';

describeEventStoreContract('SQLite', async () => {
  const dir = tempDir();
  const file = join(dir, 'events.sqlite');
  let store = openSqliteEventStore({ file });
  return {
    store,
    reopen: async () => {
      await store.close();
      store = openSqliteEventStore({ file });
      return store;
    },
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
