import session from 'express-session';
import { sqliteFileOf, type SqliteFile } from './sqliteFile.js';

const DAY_MS = 24 * 60 * 60 * 1000;

type Callback<T = void> = (error?: unknown, value?: T | null) => void;

/**
 * express-session's store in a SQLite file of the data directory. (The one store on npm
 * built on better-sqlite3 starts a cleanup timer that cannot be stopped; the others need
 * a second native SQLite binding.) Expired sessions are never returned and are swept
 * every 15 minutes.
 */
export class SqliteSessionStore extends session.Store {
  private readonly sqlite: SqliteFile;
  private readonly owned: boolean;
  private readonly sweeper: NodeJS.Timeout;
  private readonly statements;

  constructor(file: string | SqliteFile) {
    super();
    ({ sqlite: this.sqlite, owned: this.owned } = sqliteFileOf(file));
    const { db } = this.sqlite;
    db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        sid TEXT PRIMARY KEY,
        sess TEXT NOT NULL,
        expires INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
    `);
    // The signed-in user of each session, so that erasure can end them all.
    const columns = db.prepare('PRAGMA table_xinfo(sessions)').all() as {
      name: string;
    }[];
    if (!columns.some((column) => column.name === 'user_id')) {
      db.exec(`
        ALTER TABLE sessions ADD COLUMN user_id TEXT
          GENERATED ALWAYS AS (json_extract(sess, '$.passport.user.userId')) VIRTUAL;
      `);
    }
    db.exec('CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)');
    this.statements = {
      get: db.prepare<[string, number], { sess: string }>(
        'SELECT sess FROM sessions WHERE sid = ? AND expires > ?',
      ),
      set: db.prepare(
        `INSERT INTO sessions (sid, sess, expires) VALUES (?, ?, ?)
         ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expires = excluded.expires`,
      ),
      touch: db.prepare('UPDATE sessions SET expires = ? WHERE sid = ?'),
      destroy: db.prepare('DELETE FROM sessions WHERE sid = ?'),
      sweep: db.prepare('DELETE FROM sessions WHERE expires <= ?'),
      // Signed in as the user, or holding a link waiting for the user (with its email).
      endFor: db.prepare(
        `DELETE FROM sessions WHERE user_id = ?
           OR json_extract(sess, '$.pendingLink.ownerId') = ?`,
      ),
    };
    this.sweeper = setInterval(() => void this.sweep().catch(() => {}), 15 * 60 * 1000);
    this.sweeper.unref();
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    let data: session.SessionData | null;
    try {
      const row = this.statements.get.get(sid, Date.now());
      data = row ? (JSON.parse(row.sess) as session.SessionData) : null;
    } catch (error) {
      callback(error);
      return;
    }
    callback(null, data);
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    const sess = JSON.stringify(data);
    this.written(callback, () => this.statements.set.run(sid, sess, expiryOf(data)));
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    this.written(callback, () => this.statements.touch.run(expiryOf(data), sid));
  }

  override destroy(sid: string, callback?: Callback): void {
    this.written(callback, () => this.statements.destroy.run(sid));
  }

  /** Ends every session signed in as the user or waiting to link to it; how many. */
  async endSessionsOf(userId: string): Promise<number> {
    return (await this.sqlite.write(() => this.statements.endFor.run(userId, userId)))
      .changes;
  }

  async sweep(): Promise<number> {
    return (await this.sqlite.write(() => this.statements.sweep.run(Date.now()))).changes;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    if (this.owned) await this.sqlite.close();
  }

  /** Calls back once the write is committed with the others of its moment. */
  private written(callback: Callback | undefined, work: () => unknown): void {
    this.sqlite.write(work).then(
      () => callback?.(null),
      (error: unknown) => callback?.(error),
    );
  }
}

const expiryOf = (data: session.SessionData): number => {
  const expires = data.cookie?.expires;
  return expires ? new Date(expires).getTime() : Date.now() + DAY_MS;
};
