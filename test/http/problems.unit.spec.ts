import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { describe, expect, it } from 'vitest';
import { problemHandler } from '../../src/http/problems.js';
import { MongoIncoherentAnswerError } from '../../src/storage/mongo.js';

/** What the API answers when a route throws `error`. */
const answerTo = async (error: Error) => {
  const app = express();
  app.use(pinoHttp({ logger: pino({ level: 'silent' }) }));
  app.get('/api/thing', () => {
    throw error;
  });
  app.use(problemHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/thing`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    server.close();
  }
};

describe('problems of the stores', () => {
  it('answer 503 unavailable for a reply MongoDB gave that cannot be read or is not what was asked', async () => {
    const unreadable = Object.assign(new Error('BSON element "cursor" is missing'), {
      name: 'MongoUnexpectedServerResponseError',
    });
    for (const error of [unreadable, new MongoIncoherentAnswerError('a part of a key')]) {
      const { status, body } = await answerTo(error);
      expect(status).toBe(503);
      expect(body).toMatchObject({ code: 'unavailable' });
      expect(JSON.stringify(body)).not.toContain('cursor');
    }
  });

  it('answer anything else 500 internal, without its message', async () => {
    const { status, body } = await answerTo(new TypeError("reading 'seq' of undefined"));
    expect(status).toBe(500);
    expect(body).toMatchObject({ code: 'internal' });
    expect(JSON.stringify(body)).not.toContain('seq');
  });
});
