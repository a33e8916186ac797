import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config, ServiceToken } from './config.js';
import { withEventCodec } from './eventstore/codec.js';
import { connectEventStoreDb } from './eventstore/eventStoreDb.js';
import type { EventStore } from './eventstore/port.js';
import { createMemoryReadModel } from './projections/memory.js';
import type { ReadModel } from './projections/port.js';
import type { Switchable } from './projections/runner.js';
import { openSqliteEventStore } from './eventstore/sqlite.js';
import { loadOrCreateDevelopmentSecrets, type DevelopmentSecrets } from './secrets.js';
import { openSideStores, type SideStores } from './storage/sideStores.js';
import { createTokenCipher, parseKeyring } from './storage/tokenCipher.js';
import { assertKeyringOpens } from './storage/keyringCheck.js';

export interface Secrets {
  tokens: ServiceToken[];
  sessionSecret: string;
  tokenKey: string;
  /** Present when some were generated for development. */
  development: DevelopmentSecrets | null;
}

export interface Stores {
  dataDir: string;
  secrets: Secrets;
  /** The log as every reader sees it: personal data decrypted, old schemas upcast. */
  store: EventStore;
  /** MongoDB's, or the in-memory one over this log. */
  readModel: ReadModel & Partial<Switchable>;
  side: SideStores;
  close(): Promise<void>;
}

/** Secrets from the configuration, or generated into the data directory for development. */
export const resolveSecrets = (
  config: Config,
  dataDir: string,
  logger?: Logger,
): Secrets => {
  const generated =
    !config.serviceTokens || !config.sessionSecret || !config.tokenEncryptionKey
      ? loadOrCreateDevelopmentSecrets(dataDir)
      : null;
  const missing = [
    ...(config.sessionSecret ? [] : ['SESSION_SECRET']),
    ...(config.tokenEncryptionKey ? [] : ['TOKEN_ENCRYPTION_KEY']),
  ];
  if (generated && missing.length > 0) {
    logger?.warn(
      { file: generated.file },
      `using generated development secrets for ${missing.join(' and ')}; set ${
        missing.length > 1 ? 'them' : 'it'
      } for production`,
    );
  }
  return {
    tokens: config.serviceTokens ?? [generated!.serviceToken],
    sessionSecret: config.sessionSecret ?? generated!.sessionSecret,
    tokenKey: config.tokenEncryptionKey ?? generated!.tokenEncryptionKey,
    development: generated,
  };
};

/**
 * Everything the service keeps, opened from its configuration: the log (SQLite or
 * EventStoreDB) behind the personal-data codec, and the side stores (SQLite or MongoDB).
 * Used by the service, the projector and the CLI alike.
 */
export const openStores = async (options: {
  config: Config;
  logger: Logger;
  /** Replaces the log (tests of other adapters, fault injection). */
  eventStore?: EventStore;
}): Promise<Stores> => {
  const { config, logger } = options;
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = resolveSecrets(config, dataDir, logger);
  const cipher = createTokenCipher(parseKeyring(secrets.tokenKey));

  const side = await openSideStores({ config, dataDir, logger, cipher });
  try {
    assertKeyringOpens(
      cipher,
      await side.sealedSamples(),
      config.mongoUrl ? 'MongoDB' : join(dataDir, 'service.sqlite'),
    );
  } catch (error) {
    await side.close();
    throw error;
  }
  let raw: EventStore;
  try {
    raw =
      options.eventStore ??
      (config.eventStoreUrl
        ? await connectEventStoreDb({ connectionString: config.eventStoreUrl, logger })
        : openSqliteEventStore({ file: join(dataDir, 'events.sqlite'), logger }));
  } catch (error) {
    await side.close();
    throw error;
  }
  const store = withEventCodec(raw, side.dataKeys);
  if (!side.readModel) await side.emailIndexReady(store);
  const readModel =
    side.readModel ?? createMemoryReadModel({ store, emailIndex: side.dataKeys });
  return {
    dataDir,
    secrets,
    store,
    readModel,
    side,
    close: async () => {
      await readModel.close();
      await store.close();
      await side.close();
    },
  };
};
