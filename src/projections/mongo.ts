import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import {
  EMAIL_FOLD_VERSION,
  foldEmail,
  identityKeyOf,
  type IdentityKey,
} from '../domain/values.js';
import type { IdentityDoc, OpenClaimDoc, UserDoc } from './documents.js';
import { assertContiguous, type ReadModel } from './port.js';
import {
  evolveIdentityDoc,
  evolveUserDoc,
  identityOf,
  openClaimChanges,
  userIdOf,
} from './projectors.js';

/**
 * Positions are stored as zero-padded decimal strings: MongoDB has no unsigned 128-bit
 * number (EventStoreDB positions are packed into one), and padded strings compare as the
 * numbers do.
 */
export const storedPosition = (position: bigint): string =>
  position.toString().padStart(40, '0');
const positionOf = (stored: string): bigint => BigInt(stored);

type Stored<T> = Omit<T, 'position'> & { _id: string; position: string };
type UserRow = Stored<UserDoc> & { emailFolded: string | null };
type IdentityRow = Stored<IdentityDoc>;
type ClaimRow = Stored<OpenClaimDoc>;

const DUPLICATE_KEY = 11000;

export interface MongoCollections {
  users: Collection<UserRow>;
  identities: Collection<IdentityRow>;
  openClaims: Collection<ClaimRow>;
  checkpoints: Collection<{ _id: string; position: string }>;
}

/** The collections of one version of the read model (a rebuild makes the next one). */
export const collectionsOf = (db: Db, version: number): MongoCollections => ({
  users: db.collection<UserRow>(`users_v${version}`),
  identities: db.collection<IdentityRow>(`identities_v${version}`),
  openClaims: db.collection<ClaimRow>(`openClaims_v${version}`),
  checkpoints: db.collection('checkpoints'),
});

/** Indexes of one version, created idempotently at start. */
export const ensureIndexes = async (collections: MongoCollections): Promise<void> => {
  await collections.identities.createIndex({ provider: 1, subject: 1 }, { unique: true });
  await collections.users.createIndex({ emailFolded: 1 });
};

export const checkpointId = (version: number): string => `read-model-v${version}`;

/**
 * Makes the users' stored `emailFolded` that of the current `foldEmail`, once per version
 * of the collections (marked in `readModelVersion`). Users written by an older fold would
 * otherwise be found by look-alike addresses and missed by their own. Each is updated only
 * if it is unchanged since read: a newer write folded it already.
 */
export const refoldEmails = async (db: Db, version: number): Promise<number> => {
  const marks = db.collection<{ _id: string; version: number }>('readModelVersion');
  const markId = `email-fold-v${version}`;
  if ((await marks.findOne({ _id: markId }))?.version === EMAIL_FOLD_VERSION) return 0;

  const { users } = collectionsOf(db, version);
  let updates: AnyBulkWriteOperation<UserRow>[] = [];
  let refolded = 0;
  const write = async () => {
    if (updates.length > 0) await users.bulkWrite(updates, { ordered: false });
    refolded += updates.length;
    updates = [];
  };
  const rows = users.find(
    { email: { $ne: null } },
    { projection: { email: 1, emailFolded: 1, position: 1 } },
  );
  for await (const row of rows) {
    const folded = foldEmail(row.email!);
    if (row.emailFolded === folded) continue;
    updates.push({
      updateOne: {
        filter: { _id: row._id, position: row.position },
        update: { $set: { emailFolded: folded } },
      },
    });
    if (updates.length === 500) await write();
  }
  await write();
  await marks.updateOne(
    { _id: markId },
    { $set: { version: EMAIL_FOLD_VERSION } },
    { upsert: true },
  );
  return refolded;
};

/**
 * The read model in MongoDB: users with their connections, identities, open claims, and a
 * checkpoint. Each document keeps the position of the last event applied to it, and a
 * write only lands on an older document, so applying an event twice (after a crash
 * between the documents and the checkpoint, say) changes nothing. No transactions are
 * needed (FerretDB and standalone servers have none).
 */
export const createMongoReadModel = (db: Db, version: number): ReadModel => {
  const c = collectionsOf(db, version);
  const cpId = checkpointId(version);

  const apply: ReadModel['apply'] = async (events, options = {}) => {
    const checkpoint = (await c.checkpoints.findOne({ _id: cpId }))?.position;
    assertContiguous(checkpoint ? positionOf(checkpoint) : null, options.after);
    const fresh = checkpoint
      ? events.filter((event) => storedPosition(event.position) > checkpoint)
      : events;
    if (fresh.length === 0) return;

    // 1. Load every document the batch touches.
    const userIds = new Set<string>();
    const identityKeys = new Map<string, IdentityKey>();
    const claimStreams = new Set<string>();
    for (const event of fresh) {
      const userId = userIdOf(event);
      if (userId) userIds.add(userId);
      const identity = identityOf(event);
      if (identity) identityKeys.set(identityKeyOf(identity), identity);
      for (const change of openClaimChanges(event)) {
        claimStreams.add(change.kind === 'put' ? change.claim.stream : change.stream);
      }
    }
    const [userRows, identityRows, claimRows] = await Promise.all([
      c.users.find({ _id: { $in: [...userIds] } }).toArray(),
      c.identities.find({ _id: { $in: [...identityKeys.keys()] } }).toArray(),
      c.openClaims.find({ _id: { $in: [...claimStreams] } }).toArray(),
    ]);
    const users = new Map<string, UserDoc | null>(
      userRows.map((row) => [row._id, toUser(row)]),
    );
    const identities = new Map<string, IdentityDoc | null>(
      identityRows.map((row) => [row._id, toIdentity(row)]),
    );
    const claims = new Map<string, OpenClaimDoc | null>(
      claimRows.map((row) => [row._id, toClaim(row)]),
    );

    // 2. Evolve them in log order, each past what it has seen already.
    const touched = {
      users: new Map<string, bigint>(),
      identities: new Map<string, bigint>(),
      claims: new Map<string, bigint>(),
    };
    for (const event of fresh) {
      const userId = userIdOf(event);
      if (userId) {
        const doc = users.get(userId) ?? null;
        if (!doc || doc.position < event.position) {
          users.set(userId, evolveUserDoc(doc, event));
          touched.users.set(userId, event.position);
        }
      }
      const identity = identityOf(event);
      if (identity) {
        const key = identityKeyOf(identity);
        const doc = identities.get(key) ?? null;
        if (!doc || doc.position < event.position) {
          identities.set(key, evolveIdentityDoc(doc, event));
          touched.identities.set(key, event.position);
        }
      }
      for (const change of openClaimChanges(event)) {
        const stream = change.kind === 'put' ? change.claim.stream : change.stream;
        const open = claims.get(stream) ?? null;
        if (open && open.position >= event.position) continue;
        if (change.kind === 'put') claims.set(stream, change.claim);
        else if (
          open &&
          (change.claimRevision === 'any' || open.claimRevision === change.claimRevision)
        ) {
          claims.set(stream, null);
        } else continue;
        touched.claims.set(stream, event.position);
      }
    }

    // 3. Write them, each only over an older version of itself; then the checkpoint.
    await Promise.all([
      guardedWrite(c.users, touched.users, (id) => users.get(id) ?? null, userRow),
      guardedWrite(
        c.identities,
        touched.identities,
        (id) => identities.get(id) ?? null,
        identityRow,
      ),
      guardedWrite(
        c.openClaims,
        touched.claims,
        (id) => claims.get(id) ?? null,
        claimRow,
      ),
    ]);
    const last = storedPosition(fresh.at(-1)!.position);
    await ignoreDuplicate(
      c.checkpoints.updateOne(
        { _id: cpId, position: { $lt: last } },
        { $set: { position: last } },
        { upsert: true },
      ),
    );
  };

  return {
    position: async () => {
      const row = await c.checkpoints.findOne({ _id: cpId });
      return row ? positionOf(row.position) : null;
    },
    apply,
    getUser: async (userId) => {
      const row = await c.users.findOne({ _id: userId });
      return row ? toUser(row) : null;
    },
    getIdentity: async (identity) => {
      const row = await c.identities.findOne({ _id: identityKeyOf(identity) });
      return row ? toIdentity(row) : null;
    },
    findUsersByEmail: async (email) =>
      (
        await c.users.find({ emailFolded: foldEmail(email), status: 'active' }).toArray()
      ).map(toUser),
    listOpenClaims: async () => (await c.openClaims.find({}).toArray()).map(toClaim),
    dropOpenClaim: async (stream, position) => {
      await c.openClaims.deleteOne({
        _id: stream,
        position: { $lte: storedPosition(position) },
      });
    },
    close: async () => {},
  };
};

/**
 * Replaces (or deletes) each touched document unless the stored one is as new or newer.
 * An upsert whose guard fails tries an insert, which collides with the newer document:
 * that duplicate-key error means "applied already" and is ignored.
 */
const guardedWrite = async <Doc, Row extends Document & { _id: string }>(
  collection: Collection<Row>,
  touched: Map<string, bigint>,
  docOf: (id: string) => Doc | null,
  rowOf: (id: string, doc: Doc) => Row,
): Promise<void> => {
  if (touched.size === 0) return;
  const operations: AnyBulkWriteOperation<Row>[] = [...touched].map(([id, position]) => {
    const filter = { _id: id, position: { $lt: storedPosition(position) } } as never;
    const doc = docOf(id);
    return doc === null
      ? { deleteOne: { filter } }
      : { replaceOne: { filter, replacement: rowOf(id, doc) as never, upsert: true } };
  });
  await ignoreDuplicate(collection.bulkWrite(operations, { ordered: false }));
};

const ignoreDuplicate = async (work: Promise<unknown>): Promise<void> => {
  try {
    await work;
  } catch (error) {
    if (error instanceof MongoBulkWriteError) {
      const errors = Array.isArray(error.writeErrors)
        ? error.writeErrors
        : [error.writeErrors];
      if (errors.every((e) => e.code === DUPLICATE_KEY)) return;
    }
    if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return;
    throw error;
  }
};

const userRow = (id: string, doc: UserDoc): UserRow => ({
  ...doc,
  _id: id,
  position: storedPosition(doc.position),
  emailFolded: doc.email ? foldEmail(doc.email) : null,
});

const identityRow = (id: string, doc: IdentityDoc): IdentityRow => ({
  ...doc,
  _id: id,
  position: storedPosition(doc.position),
});

const claimRow = (id: string, doc: OpenClaimDoc): ClaimRow => ({
  ...doc,
  _id: id,
  position: storedPosition(doc.position),
});

const toUser = ({ _id, emailFolded: _email, position, ...rest }: UserRow): UserDoc => ({
  ...rest,
  position: positionOf(position),
});

const toIdentity = ({ _id, position, ...rest }: IdentityRow): IdentityDoc => ({
  ...rest,
  position: positionOf(position),
});

const toClaim = ({ _id, position, ...rest }: ClaimRow): OpenClaimDoc => ({
  ...rest,
  position: positionOf(position),
});
