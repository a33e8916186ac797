import { randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { httpFoundation } from '../../src/http/app.js';
import { commandSchemas } from '../../src/http/schemas.js';
import { openDatabase } from '../../src/storage/openDatabase.js';
import { announce, benchLogger } from './common.js';

/**
 * The baseline a site without this service would have: OAuth connections in one SQLite
 * table with a unique index on (provider, subject), as Flask-Dance's SQLAlchemy storage or
 * an Auth.js adapter keep them; no events, no read model. Same Express foundation, same
 * bearer-token check and request validation (the service's own zod schemas), and the same
 * durability: WAL with synchronous=FULL, so an answered write survives a power cut. Each
 * request is its own transaction, as an ORM would do it.
 */
const dataDir = process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'crud-baseline-'));
const db = openDatabase(join(dataDir, 'crud.sqlite'));
db.exec(`
  CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS connections (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    email TEXT,
    display_name TEXT,
    linked_at TEXT NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS connections_identity ON connections (provider, subject);
`);
const insertUser = db.prepare('INSERT INTO users (id, created_at) VALUES (?, ?)');
const insertConnection = db.prepare(
  'INSERT INTO connections (provider, subject, user_id, email, display_name, linked_at) VALUES (?, ?, ?, ?, ?, ?)',
);
const userExists = db.prepare('SELECT 1 FROM users WHERE id = ?');

const token = Buffer.from(process.env.BENCH_TOKEN ?? 'bench-token-0123456789abcdef');
const authorized = (req: Request, res: Response, next: NextFunction) => {
  const given = Buffer.from(
    /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '',
  );
  if (given.length === token.length && timingSafeEqual(given, token)) return next();
  res.status(401).type('application/problem+json').json({ title: 'unauthorized' });
};

const problem = (res: Response, status: number, title: string) =>
  res.status(status).type('application/problem+json').json({ title, status });

const app = httpFoundation(benchLogger());
app.use('/api', authorized, express.json({ limit: '1mb' }));

app.post('/api/commands/register-via-provider', (req, res) => {
  const input = commandSchemas['register-via-provider'].safeParse(req.body);
  if (!input.success) return problem(res, 400, 'invalid request');
  const { provider, subject, profile } = input.data;
  const userId = randomUUID();
  const now = new Date().toISOString();
  try {
    db.transaction(() => {
      insertUser.run(userId, now);
      insertConnection.run(
        provider,
        subject,
        userId,
        profile.email ?? null,
        profile.displayName ?? null,
        now,
      );
    })();
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
      return problem(res, 409, 'identity already linked');
    throw error;
  }
  res.status(201).json({ userId });
});

app.post('/api/commands/link-provider', (req, res) => {
  const input = commandSchemas['link-provider'].safeParse(req.body);
  if (!input.success) return problem(res, 400, 'invalid request');
  const { userId, provider, subject, profile } = input.data;
  if (!userExists.get(userId)) return problem(res, 404, 'no such user');
  try {
    insertConnection.run(
      provider,
      subject,
      userId,
      profile.email ?? null,
      profile.displayName ?? null,
      new Date().toISOString(),
    );
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
      return problem(res, 409, 'identity already linked');
    throw error;
  }
  res.status(200).json({ userId });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
  announce('crud baseline', server),
);
