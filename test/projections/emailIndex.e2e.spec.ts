import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/client.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

/**
 * The embedded read model finds users by email through the key store's index of keyed
 * email hashes (it never decrypts the log at start). A data directory written before the
 * index existed gets it filled from the log at the next start.
 */
describe('the email index of the embedded read model', () => {
  let service: TestService | null = null;
  afterEach(async () => {
    if (!service) return;
    await service.stop();
    removeDataDir(service.config);
    service = null;
  });

  const register = async (url: string, subject: string, email: string) => {
    const reply = await apiClient(url).command('register-via-provider', {
      provider: 'github',
      subject,
      profile: { displayName: null, email, emailVerified: true },
    });
    expect(reply.status).toBe(201);
    return reply.body.userId as string;
  };

  it('holds keyed hashes, not addresses, and forgets an erased person', async () => {
    service = await startTestService();
    const ann = await register(service.url, '1', 'Ann@Example.com');
    const bob = await register(service.url, '2', 'bob@example.com');
    const found = await service.services.readModel.findUsersByEmail(' ann@EXAMPLE.com');
    expect(found.map((user) => user.userId)).toEqual([ann]);

    await apiClient(service.url).command('erase-user', { userId: bob });
    expect(await service.services.readModel.findUsersByEmail('bob@example.com')).toEqual(
      [],
    );

    const db = new Database(join(service.config.dataDir, 'service.sqlite'), {
      readonly: true,
    });
    const rows = db.prepare('SELECT hash, user_id FROM email_index').all() as {
      hash: string;
      user_id: string;
    }[];
    db.close();
    expect(rows.map((row) => row.user_id)).toEqual([ann]);
    expect(JSON.stringify(rows)).not.toMatch(/example\.com/i);
  });

  it('is filled from the log at start when the data directory predates it', async () => {
    service = await startTestService();
    const ann = await register(service.url, '1', 'ann@example.com');
    // As an older version left it: no index, no mark that it was built (the restart
    // opens everything again).
    const file = join(service.config.dataDir, 'service.sqlite');
    const db = new Database(file);
    db.exec('DELETE FROM email_index; DROP TABLE email_index_built;');
    db.close();

    service = await service.restart();
    const found = await service.services.readModel.findUsersByEmail('ANN@example.com');
    expect(found.map((user) => user.userId)).toEqual([ann]);
  });

  it('is made again at start when it was made with an older email fold', async () => {
    service = await startTestService();
    const ascii = await register(service.url, '1', 'kim@example.org');
    // A fullwidth ｋ: the first fold (NFKC) indexed it under kim@example.org's hash.
    const fullwidth = await register(service.url, '2', '\uff4bim@example.org');
    // As the version before the fold changed left it (the restart opens everything again).
    const db = new Database(join(service.config.dataDir, 'service.sqlite'));
    const { hash } = db
      .prepare('SELECT hash FROM email_index WHERE user_id = ?')
      .get(ascii) as { hash: string };
    db.prepare('DELETE FROM email_index WHERE user_id = ?').run(fullwidth);
    db.prepare('INSERT INTO email_index (hash, user_id) VALUES (?, ?)').run(
      hash,
      fullwidth,
    );
    db.exec(`
      DROP TABLE email_index_built;
      CREATE TABLE email_index_built (at TEXT NOT NULL);
      INSERT INTO email_index_built (at) VALUES ('2026-11-30T00:00:00.000Z');
    `);
    db.close();

    service = await service.restart();
    const found = async (email: string) =>
      (await service!.services.readModel.findUsersByEmail(email)).map((u) => u.userId);
    expect(await found('KIM@example.org')).toEqual([ascii]);
    expect(await found('\uff4bim@example.org')).toEqual([fullwidth]);
  });
});
