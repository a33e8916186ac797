import type Database from 'better-sqlite3';
import { openDatabase } from './openDatabase.js';
import session from 'express-session';

const DAY_MS = 24 * 60 * 60 * 1000;

type Callback<T = void> = (error?: unknown, value?: T | null) => void;

/**
 * express-session's store in a SQLite file of the data directory. (The one store on npm
 * built on better-sqlite3 starts a cleanup timer that cannot be stopped; the others need
 * a second native SQLite binding.) Expired sessions are never returned and are swept
 * every 15 minutes.
 */
export class SqliteSessionStore extends session.Store {
  private readonly db: Database.Database;
  private readonly sweeper: NodeJS.Timeout;
  private readonly statements;

  constructor(file: string) {
    super();
    this.db = openDatabase(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        sid TEXT PRIMARY KEY,
        sess TEXT NOT NULL,
        expires INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
    `);
    // The signed-in user of each session, so that erasure can end them all.
    const columns = this.db.prepare('PRAGMA table_xinfo(sessions)').all() as {
      name: string;
    }[];
    if (!columns.some((column) => column.name === 'user_id')) {
      this.db.exec(`
        ALTER TABLE sessions ADD COLUMN user_id TEXT
          GENERATED ALWAYS AS (json_extract(sess, '$.passport.user.userId')) VIRTUAL;
      `);
    }
    this.db.exec('CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)');
    this.statements = {
      get: this.db.prepare<[string, number], { sess: string }>(
        'SELECT sess FROM sessions WHERE sid = ? AND expires > ?',
      ),
      set: this.db.prepare(
        `INSERT INTO sessions (sid, sess, expires) VALUES (?, ?, ?)
         ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expires = excluded.expires`,
      ),
      touch: this.db.prepare('UPDATE sessions SET expires = ? WHERE sid = ?'),
      destroy: this.db.prepare('DELETE FROM sessions WHERE sid = ?'),
      sweep: this.db.prepare('DELETE FROM sessions WHERE expires <= ?'),
      // Signed in as the user, or holding a link waiting for the user (with its email).
      endFor: this.db.prepare(
        `DELETE FROM sessions WHERE user_id = ?
           OR json_extract(sess, '$.pendingLink.ownerId') = ?`,
      ),
    };
    this.sweeper = setInterval(() => this.sweep(), 15 * 60 * 1000);
    this.sweeper.unref();
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    this.run<session.SessionData | null>(callback, () => {
      const row = this.statements.get.get(sid, Date.now());
      return row ? (JSON.parse(row.sess) as session.SessionData) : null;
    });
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    this.run(callback, () => {
      this.statements.set.run(sid, JSON.stringify(data), expiryOf(data));
    });
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    this.run(callback, () => {
      this.statements.touch.run(expiryOf(data), sid);
    });
  }

  override destroy(sid: string, callback?: Callback): void {
    this.run(callback, () => {
      this.statements.destroy.run(sid);
    });
  }

  /** Ends every session signed in as the user or waiting to link to it; how many. */
  endSessionsOf(userId: string): number {
    return this.statements.endFor.run(userId, userId).changes;
  }

  sweep(): number {
    return this.statements.sweep.run(Date.now()).changes;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.db.close();
  }

  private run<T>(callback: Callback<T> | undefined, work: () => T): void {
    let value: T;
    try {
      value = work();
    } catch (error) {
      callback?.(error);
      return;
    }
    callback?.(null, value);
  }
}

const expiryOf = (data: session.SessionData): number => {
  const expires = data.cookie?.expires;
  return expires ? new Date(expires).getTime() : Date.now() + DAY_MS;
};
