import express from 'express';
import { httpFoundation } from '../../src/http/app.js';
import { announce, benchLogger } from './common.js';

/**
 * The ceiling of the HTTP layer: the service's own Express foundation (request ids, a log
 * line per request, helmet's headers) and JSON body parsing, answering a POST with JSON.
 */
const app = httpFoundation(benchLogger());
app.post('/hello', express.json({ limit: '1mb' }), (req, res) => {
  res.json({ hello: (req.body as { name?: unknown }).name ?? 'world' });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
  announce('hello', server),
);
