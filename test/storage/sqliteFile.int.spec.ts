import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteEventStore } from '../../src/eventstore/sqlite.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import { openSqliteFile } from '../../src/storage/sqliteFile.js';
import { tempDir } from '../support/service.js';

// The disk flushes the module asks for, held until the test lets them finish.
const flushes = vi.hoisted(() => ({
  started: [] as { fd: number; finish: (error?: Error) => void }[],
  held: true,
}));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, callback: (error: Error | null) => void) => {
      const finish = (error?: Error) =>
        error ? callback(error) : fs.fdatasync(fd, (e) => callback(e));
      if (flushes.held) flushes.started.push({ fd, finish });
      else finish();
    },
  };
});

const turn = () => new Promise((resolve) => setImmediate(resolve));
const finishFlushes = async () => {
  while (flushes.started.length > 0) {
    flushes.started.shift()!.finish();
    await turn();
    await turn();
  }
};

const event = (n: number): NewEvent => ({
  id: crypto.randomUUID(),
  type: 'Noted',
  data: { n },
  metadata: {} as NewEvent['metadata'],
});

describe('a SQLite file with writes committed together and flushed off the event loop', () => {
  beforeEach(() => {
    flushes.started = [];
    flushes.held = true;
  });
  afterEach(() => {
    flushes.held = false;
  });

  it('answers a write only after the write-ahead log it went to is flushed', async () => {
    const file = openSqliteFile(join(tempDir(), 'f.sqlite'));
    file.db.exec('CREATE TABLE t (v TEXT)');
    const insert = file.db.prepare('INSERT INTO t (v) VALUES (?)');
    let answered = 0;
    const writes = ['a', 'b', 'c'].map((v) =>
      file.write(() => insert.run(v)).then(() => (answered += 1)),
    );
    await turn();
    await turn();
    // Committed together (visible here), one flush asked for, nothing answered yet.
    expect(file.db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 3 });
    expect(flushes.started).toHaveLength(1);
    expect(answered).toBe(0);

    // A write committed while that flush runs waits for the next one.
    const late = file.write(() => insert.run('d')).then(() => (answered += 1));
    await turn();
    await turn();
    expect(flushes.started).toHaveLength(1);
    flushes.started.shift()!.finish();
    await Promise.all(writes);
    expect(answered).toBe(3);
    await turn();
    expect(flushes.started).toHaveLength(1);
    flushes.started.shift()!.finish();
    await late;
    expect(answered).toBe(4);
    flushes.held = false;
    await file.close();
  });

  it('refuses alone the write that throws, and refuses all when the flush fails', async () => {
    const file = openSqliteFile(join(tempDir(), 'f.sqlite'));
    file.db.exec('CREATE TABLE t (v TEXT UNIQUE)');
    const insert = file.db.prepare('INSERT INTO t (v) VALUES (?)');
    const outcomes = Promise.allSettled([
      file.write(() => insert.run('x')),
      file.write(() => insert.run('x')),
      file.write(() => insert.run('y')),
    ]);
    await turn();
    await finishFlushes();
    expect((await outcomes).map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);

    const failing = file.write(() => insert.run('z'));
    await turn();
    flushes.started.shift()!.finish(new Error('EIO: the disk failed'));
    await expect(failing).rejects.toThrow(/EIO/);
    flushes.held = false;
    await file.close();
  });

  it('keeps appended events from followers until they are on disk', async () => {
    const store = openSqliteEventStore({ file: join(tempDir(), 'events.sqlite') });
    const first = store.append('s-1', [event(1)], 'no-stream');
    await turn();
    await turn();
    // Committed: the stream shows it (a command deciding on it is answered after it),
    // but a follower, which may feed a read model of its own, does not see it yet.
    expect(await store.readStream('s-1')).toHaveLength(1);
    expect(await store.readAll({ after: null, limit: 10 })).toEqual([]);
    await finishFlushes();
    const { position } = await first;
    expect(
      (await store.readAll({ after: null, limit: 10 })).map((e) => e.position),
    ).toEqual([position]);
    flushes.held = false;
    await store.close();
  });
});
