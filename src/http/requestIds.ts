import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const takeOrMake = (value: string | string[] | undefined): string =>
  typeof value === 'string' && SAFE_ID.test(value) ? value : randomUUID();

/**
 * The request id for the logger: the caller's X-Request-Id when it is a plain token,
 * else a new one. Also echoed in the response.
 */
export const requestIdOf = (req: IncomingMessage, res: ServerResponse): string => {
  const id = takeOrMake(req.headers['x-request-id']);
  res.setHeader('X-Request-Id', id);
  return id;
};

/** X-Correlation-Id, taken or made the same way, echoed, and kept for the events. */
export const correlation: RequestHandler = (req, res, next) => {
  const id = takeOrMake(req.headers['x-correlation-id']);
  res.setHeader('X-Correlation-Id', id);
  res.locals.correlationId = id;
  res.locals.requestId = String(req.id);
  next();
};
