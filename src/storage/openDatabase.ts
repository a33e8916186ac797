import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Opens a SQLite file of the data directory: WAL, `synchronous=FULL` (an answered write
 * survives a power cut), a busy timeout for other processes on the same file, and
 * permissions for the service's user alone (SQLite gives its -wal and -shm files the same).
 */
export const openDatabase = (file: string): Database.Database => {
  const db = new Database(file);
  if (file !== ':memory:') chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
};
