import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import { EMAIL_FOLD_VERSION, foldEmail, identityKeyOf } from '../domain/values.js';
import type { StoredEvent } from '../eventstore/port.js';
import type { IdentityDoc, OpenClaimDoc, UserDoc } from './documents.js';
import { MongoIncoherentAnswerError } from '../storage/mongo.js';
import { assertContiguous, type ReadModel } from './port.js';
import {
  evolveIdentityDoc,
  evolveUserDoc,
  identityOf,
  openClaimChanges,
  userIdOf,
} from './projectors.js';

/**
 * The read model in MongoDB, correct on MongoDB and on FerretDB alike. FerretDB v1 runs
 * a conditional update as a read and then a write, so "replace it if older" is not atomic
 * there: two writers at a lease handover can land an older document over a newer one. The
 * one write both servers do atomically is an insert into a unique `_id`. So each document
 * is kept as a chain of states in a history collection, state n under `<key>#<n>`, and a
 * writer adds state n+1 only by inserting that `_id`: of two writers, one wins, and the
 * other loads the new state and goes on from it. The head collection (`users_v<n>`, ...)
 * holds each document's last state as a cache for reading by `_id`; a reader checks that
 * no state follows the head's, and walks on if one does, so a head written late by a
 * stale writer is never believed. A state that another follows is cut down to a husk that
 * keeps its place in the chain. Every read and write goes by `_id` alone, the one filter
 * FerretDB's SQLite backend hands to SQLite rather than scanning the collection.
 */
export const LAYOUT = 2;

/**
 * Positions are stored as zero-padded decimal strings: MongoDB has no unsigned 128-bit
 * number (EventStoreDB positions are packed into one), and padded strings compare as the
 * numbers do.
 */
export const storedPosition = (position: bigint): string =>
  position.toString().padStart(40, '0');
const positionOf = (stored: string): bigint => BigInt(stored);

/** A head: a document's last state as written, and the number of that state. */
type Head = Document & { _id: string; seq: number; position: string; gone?: true };
/** A state in a document's history; a husk (its `_id` and a flag) once another follows it. */
type Entry = Document & {
  _id: string;
  key?: string;
  seq?: number;
  position?: string;
  gone?: true;
  superseded?: true;
};

const DUPLICATE_KEY = 11000;

export interface MongoCollections {
  users: Collection<Head>;
  identities: Collection<Head>;
  openClaims: Collection<Head>;
  usersHistory: Collection<Entry>;
  identitiesHistory: Collection<Entry>;
  openClaimsHistory: Collection<Entry>;
  checkpoints: Collection<{ _id: string; position: string }>;
}

/** The collections of one version of the read model (a rebuild makes the next one). */
export const collectionsOf = (db: Db, version: number): MongoCollections => ({
  users: db.collection(`users_v${version}`),
  identities: db.collection(`identities_v${version}`),
  openClaims: db.collection(`openClaims_v${version}`),
  usersHistory: db.collection(`usersHistory_v${version}`),
  identitiesHistory: db.collection(`identitiesHistory_v${version}`),
  openClaimsHistory: db.collection(`openClaimsHistory_v${version}`),
  checkpoints: db.collection('checkpoints'),
});

/** The collections a version owns (what a rebuild drops). */
export const versionCollections = (collections: MongoCollections): Collection[] =>
  [
    collections.users,
    collections.identities,
    collections.openClaims,
    collections.usersHistory,
    collections.identitiesHistory,
    collections.openClaimsHistory,
  ] as unknown as Collection[];

/**
 * Indexes of one version, created idempotently at start. A state's `_id` is unique per
 * document and state number; the queries that are not by `_id` look in the histories.
 */
export const ensureIndexes = async (collections: MongoCollections): Promise<void> => {
  await collections.usersHistory.createIndex({ emailFolded: 1 });
  await collections.openClaimsHistory.createIndex({ live: 1 });
};

export const checkpointId = (version: number): string => `read-model-v${version}`;

/**
 * Makes the users' stored `emailFolded` that of the current `foldEmail`, once per version
 * of the collections (marked in `readModelVersion`). Users written by an older fold would
 * otherwise be found by look-alike addresses and missed by their own.
 */
export const refoldEmails = async (db: Db, version: number): Promise<number> => {
  const marks = db.collection<{ _id: string; version: number }>('readModelVersion');
  const markId = `email-fold-v${version}`;
  if ((await marks.findOne({ _id: markId }))?.version === EMAIL_FOLD_VERSION) return 0;

  const { usersHistory } = collectionsOf(db, version);
  let updates: AnyBulkWriteOperation<Entry>[] = [];
  let refolded = 0;
  const write = async () => {
    if (updates.length > 0) await usersHistory.bulkWrite(updates, { ordered: false });
    refolded += updates.length;
    updates = [];
  };
  const rows = usersHistory.find(
    { live: true, email: { $ne: null } },
    { projection: { email: 1, emailFolded: 1 } },
  );
  for await (const row of rows) {
    const folded = foldEmail(row.email as string);
    if (row.emailFolded === folded) continue;
    // By `_id` alone: a state's email never changes, and a husk that gets the field
    // back is never taken for a user (it has no status).
    updates.push({
      updateOne: { filter: { _id: row._id }, update: { $set: { emailFolded: folded } } },
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

/** A document's state: the document (null when it is gone or never was), numbered. */
interface State<Doc> {
  doc: Doc | null;
  /** The state's number in the document's history; -1 before the first. */
  seq: number;
  /** The position of the last event this state took in; null before the first. */
  position: bigint | null;
}

/** What an event does to one document: the next document, or `unchanged`. */
type Step<Doc> = (doc: Doc | null) => Doc | null | typeof unchanged;
const unchanged = Symbol('unchanged');

/** How one kind of document is stored and changed by events. */
interface Kind<Doc> {
  heads: Collection<Head>;
  history: Collection<Entry>;
  steps(event: StoredEvent): [key: string, step: Step<Doc>][];
  /** Fields stored beside the document's own (found by queries that are not by `_id`). */
  extra(doc: Doc): Document;
}

const docOf = <Doc>(row: Document): Doc => {
  const {
    _id,
    key: _key,
    seq: _seq,
    live: _live,
    emailFolded: _email,
    position,
    ...rest
  } = row;
  return { ...rest, position: positionOf(position as string) } as Doc;
};

const stateOf = <Doc>(row: Head | Entry, seq: number): State<Doc> => ({
  doc: row.gone ? null : docOf<Doc>(row),
  seq,
  position: positionOf(row.position!),
});

const NONE: State<never> = { doc: null, seq: -1, position: null };
const entryId = (key: string, seq: number): string => `${key}#${seq}`;

/**
 * The last state of each document: its head, then any states that follow it in the
 * history (none unless the head was written late or not yet).
 */
const loadLatest = async <Doc>(
  kind: Kind<Doc>,
  keys: string[],
): Promise<Map<string, State<Doc>>> => {
  const latest = new Map<string, State<Doc>>(keys.map((key) => [key, NONE]));
  if (keys.length === 0) return latest;
  const heads = await byIds(kind.heads, keys);
  for (const head of heads) {
    if (typeof head.seq !== 'number' || typeof head.position !== 'string')
      throw new MongoIncoherentAnswerError(`a head without its state (${head._id})`);
    latest.set(head._id, stateOf<Doc>(head, head.seq));
  }

  let walking = keys;
  while (walking.length > 0) {
    const ids = new Map(
      walking.map((key) => [entryId(key, latest.get(key)!.seq + 1), key]),
    );
    const found = await byIds(kind.history, [...ids.keys()]);
    walking = [];
    for (const entry of found) {
      if (!entry.superseded && typeof entry.position !== 'string')
        throw new MongoIncoherentAnswerError(`a state without its fields (${entry._id})`);
      const key = ids.get(entry._id)!;
      const previous = latest.get(key)!;
      // A husk: a later state follows it, so read on without keeping it.
      latest.set(
        key,
        entry.superseded
          ? { ...previous, seq: previous.seq + 1 }
          : stateOf<Doc>(entry, previous.seq + 1),
      );
      walking.push(key);
    }
  }
  return latest;
};

/**
 * The documents with these `_id`s. A few are read one by one: FerretDB finds a document
 * by `_id` alone through its index, but reads the whole collection for any other filter,
 * `$in` included (the live runner's batches touch a handful of documents). Many are read
 * with one `$in` (a batch while catching up), answered in one reply (one more than asked
 * for, so that the server sees the end and closes the cursor): a cursor left open
 * between replies holds one of FerretDB's SQLite connections, and with every connection
 * held by cursors whose next `getMore` waited for a free driver connection, FerretDB and
 * every client stopped for good (seen in a QA run: 100 open cursors, 331 queries waiting).
 */
const byIds = async <Row extends Document & { _id: string }>(
  collection: Collection<Row>,
  ids: string[],
): Promise<Row[]> => {
  const rows = (
    ids.length > FEW
      ? await collection
          .find({ _id: { $in: ids } } as never, { batchSize: ids.length + 1 })
          .toArray()
      : (
          await Promise.all(ids.map((_id) => collection.findOne({ _id } as never)))
        ).filter((row) => row !== null)
  ) as Row[];
  const asked = new Set(ids);
  if (rows.some((row) => !asked.has(row._id)))
    throw new MongoIncoherentAnswerError(
      `documents of ${collection.collectionName} not asked for`,
    );
  return rows;
};
const FEW = 16;

/** The state after the steps not yet taken in (those past the state's position). */
const advance = <Doc>(
  state: State<Doc>,
  steps: { position: bigint; step: Step<Doc> }[],
): State<Doc> | null => {
  let { doc } = state;
  let position = state.position;
  let changed = false;
  for (const { position: at, step } of steps) {
    if (position !== null && at <= position) continue;
    const next = step(doc);
    if (next === unchanged || (next === null && doc === null)) continue;
    doc = next;
    position = at;
    changed = true;
  }
  return changed ? { doc, seq: state.seq + 1, position } : null;
};

/**
 * Moves documents to new states, each computed from the document's last state by
 * `next`: the new state is inserted as the next in the history, and if another writer
 * inserted that one first, the document is loaded again and `next` tried on what it
 * found. Then the replaced states are cut down and the heads written.
 */
const transition = async <Doc>(
  kind: Kind<Doc>,
  keys: string[],
  next: (key: string, state: State<Doc>) => State<Doc> | null,
): Promise<void> => {
  const written = new Map<string, { from: State<Doc>; to: State<Doc> }>();
  let pending = keys;
  while (pending.length > 0) {
    const latest = await loadLatest(kind, pending);
    const inserts: { key: string; from: State<Doc>; to: State<Doc> }[] = [];
    for (const key of pending) {
      const from = latest.get(key)!;
      const to = next(key, from);
      if (to) inserts.push({ key, from, to });
    }
    const lost = await insertNew(
      kind.history,
      inserts.map(({ key, to }) => ({
        _id: entryId(key, to.seq),
        key,
        seq: to.seq,
        ...row(kind, to),
      })),
    );
    pending = [];
    inserts.forEach((insert, index) => {
      if (lost.has(index)) pending.push(insert.key);
      else written.set(insert.key, insert);
    });
  }
  if (written.size === 0) return;

  const husks: AnyBulkWriteOperation<Entry>[] = [];
  const heads: AnyBulkWriteOperation<Head>[] = [];
  for (const [key, { from, to }] of written) {
    if (from.seq >= 0)
      husks.push({
        replaceOne: {
          filter: { _id: entryId(key, from.seq) },
          replacement: { superseded: true },
        },
      });
    heads.push({
      replaceOne: {
        filter: { _id: key },
        replacement: { ...row(kind, to), seq: to.seq } as never,
        upsert: true,
      },
    });
  }
  await Promise.all([
    husks.length > 0 ? kind.history.bulkWrite(husks, { ordered: false }) : null,
    // Two writers upserting one head at once may collide; either head is fine to keep.
    ignoreDuplicate(kind.heads.bulkWrite(heads, { ordered: false })),
  ]);
};

const row = <Doc>(kind: Kind<Doc>, state: State<Doc>): Document => {
  const position = storedPosition(state.position!);
  if (state.doc === null) return { position, gone: true };
  return { ...state.doc, ...kind.extra(state.doc), live: true, position };
};

/** Inserts what it can; answers which ones found their `_id` taken. */
const insertNew = async (
  collection: Collection<Entry>,
  rows: Entry[],
): Promise<Set<number>> => {
  if (rows.length === 0) return new Set();
  try {
    await collection.insertMany(rows, { ordered: false });
    return new Set();
  } catch (error) {
    const errors = writeErrorsOf(error);
    if (!errors || errors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
    return new Set(errors.map((e) => e.index));
  }
};

const writeErrorsOf = (error: unknown): { code: number; index: number }[] | null => {
  if (error instanceof MongoBulkWriteError) {
    const errors = Array.isArray(error.writeErrors)
      ? error.writeErrors
      : [error.writeErrors];
    return errors.map((e) => ({ code: e.code, index: e.index }));
  }
  if (error instanceof MongoServerError && error.code === DUPLICATE_KEY)
    return [{ code: DUPLICATE_KEY, index: 0 }];
  return null;
};

const ignoreDuplicate = async (work: Promise<unknown>): Promise<void> => {
  try {
    await work;
  } catch (error) {
    const errors = writeErrorsOf(error);
    if (!errors || errors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
  }
};

const kindsOf = (c: MongoCollections) => {
  const users: Kind<UserDoc> = {
    heads: c.users,
    history: c.usersHistory,
    steps: (event) => {
      const userId = userIdOf(event);
      return userId ? [[userId, (doc) => evolveUserDoc(doc, event)]] : [];
    },
    extra: (doc) => ({ emailFolded: doc.email ? foldEmail(doc.email) : null }),
  };
  const identities: Kind<IdentityDoc> = {
    heads: c.identities,
    history: c.identitiesHistory,
    steps: (event) => {
      const identity = identityOf(event);
      return identity
        ? [[identityKeyOf(identity), (doc) => evolveIdentityDoc(doc, event)]]
        : [];
    },
    extra: () => ({}),
  };
  const openClaims: Kind<OpenClaimDoc> = {
    heads: c.openClaims,
    history: c.openClaimsHistory,
    steps: (event) =>
      openClaimChanges(event).map((change) =>
        change.kind === 'put'
          ? [change.claim.stream, () => change.claim]
          : [
              change.stream,
              (open) =>
                open &&
                (change.claimRevision === 'any' ||
                  open.claimRevision === change.claimRevision)
                  ? null
                  : unchanged,
            ],
      ),
    extra: () => ({}),
  };
  return { users, identities, openClaims };
};

/** Takes in a batch of events: each document they touch moves past them, once. */
const applyTo = async <Doc>(kind: Kind<Doc>, events: StoredEvent[]): Promise<void> => {
  const steps = new Map<string, { position: bigint; step: Step<Doc> }[]>();
  for (const event of events) {
    for (const [key, step] of kind.steps(event)) {
      const list = steps.get(key) ?? [];
      list.push({ position: event.position, step });
      steps.set(key, list);
    }
  }
  await transition(kind, [...steps.keys()], (key, state) =>
    advance(state, steps.get(key)!),
  );
};

export const createMongoReadModel = (db: Db, version: number): ReadModel => {
  const c = collectionsOf(db, version);
  const kinds = kindsOf(c);
  const cpId = checkpointId(version);

  const latestOf = async <Doc>(kind: Kind<Doc>, key: string): Promise<Doc | null> =>
    (await loadLatest(kind, [key])).get(key)!.doc;

  /** Of the history's states that match, the ones that are their document's last. */
  const lastOf = async <Doc>(kind: Kind<Doc>, found: Entry[]): Promise<Doc[]> => {
    const latest = await loadLatest(kind, [...new Set(found.map((entry) => entry.key!))]);
    return found
      .filter((entry) => latest.get(entry.key!)!.seq === entry.seq)
      .map((entry) => docOf<Doc>(entry));
  };

  return {
    position: async () => {
      const row = await c.checkpoints.findOne({ _id: cpId });
      return row ? positionOf(row.position) : null;
    },
    apply: async (events, options = {}) => {
      const checkpoint = (await c.checkpoints.findOne({ _id: cpId }))?.position;
      assertContiguous(checkpoint ? positionOf(checkpoint) : null, options.after);
      const fresh = checkpoint
        ? events.filter((event) => storedPosition(event.position) > checkpoint)
        : events;
      if (fresh.length === 0) return;
      await Promise.all([
        applyTo(kinds.users, fresh),
        applyTo(kinds.identities, fresh),
        applyTo(kinds.openClaims, fresh),
      ]);
      // Behind another writer's, this may take the checkpoint back: the events are then
      // taken in again, which changes nothing.
      const last = storedPosition(fresh.at(-1)!.position);
      await ignoreDuplicate(
        c.checkpoints.updateOne(
          { _id: cpId, position: { $lt: last } },
          { $set: { position: last } },
          { upsert: true },
        ),
      );
    },
    getUser: (userId) => latestOf(kinds.users, userId),
    getIdentity: (identity) => latestOf(kinds.identities, identityKeyOf(identity)),
    findUsersByEmail: async (email) =>
      lastOf(
        kinds.users,
        await c.usersHistory
          .find({ emailFolded: foldEmail(email), status: 'active' })
          .toArray(),
      ),
    listOpenClaims: async () =>
      lastOf(kinds.openClaims, await c.openClaimsHistory.find({ live: true }).toArray()),
    dropOpenClaim: (stream, position) =>
      transition(kinds.openClaims, [stream], (_key, state) =>
        state.doc && state.doc.position <= position
          ? { doc: null, seq: state.seq + 1, position: state.position }
          : null,
      ),
    close: async () => {},
  };
};
