import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { CommandContext } from '../../application/context.js';
import type { EventMetadata } from '../../eventstore/port.js';
import type { ProfileData } from '../../domain/events.js';
import type { PendingLink } from '../pages/confirmPage.js';
import { MESSAGES, messagePage, type MessageKey } from '../pages/messagePage.js';
import type { SessionUser } from './strategies.js';

declare module 'express-session' {
  interface SessionData {
    notice?: { kind: 'info' | 'error'; text: string };
    /** An identity waiting for its email's owner to sign in (EMAIL_MATCH=confirm). */
    pendingLink?: PendingLink & { profile: ProfileData };
    /** A second account the signed-in person proved control of, to merge into theirs. */
    pendingMerge?: {
      survivorId: string;
      mergedId: string;
      /** A provider name, or "password". */
      provedWith: string;
      expiresAt: number;
    };
    /** When each provider's flow started in this session (flows expire). */
    oauthStarted?: Partial<Record<string, number>>;
  }
}

/** The signed-in user of this browser session, if any. */
export const sessionUserOf = (req: Request): SessionUser | null =>
  (req.user as SessionUser | undefined) ?? null;

/** Who a browser flow acts for: the signed-in user, else the identity signing in. */
export const browserContext = (
  req: Request,
  res: Response,
  flow: EventMetadata['flow'],
  actor?: string,
): CommandContext => ({
  actor: actor ?? sessionUserOf(req)?.userId ?? 'self-service',
  flow,
  correlationId: res.locals.correlationId as string,
  requestId: res.locals.requestId as string,
  commandId: randomUUID(),
  idempotent: false,
});

/** Takes the one-shot notice out of the session. */
export const takeNotice = (req: Request) => {
  const notice = req.session.notice ?? null;
  delete req.session.notice;
  return notice;
};

export const showMessage = (
  res: Response,
  status: number,
  key: MessageKey,
  provider = '',
): void => {
  res
    .status(status)
    .type('html')
    .send(messagePage(MESSAGES[key](provider)));
};

/** Signs the browser in, in a new session (the old id is dropped: no fixation). */
export const login = (req: Request, user: SessionUser): Promise<void> =>
  new Promise((resolve, reject) =>
    req.login(user, (error: unknown) => (error ? reject(error) : resolve())),
  );

export const logout = (req: Request): Promise<void> =>
  new Promise((resolve, reject) =>
    req.logout((error: unknown) => (error ? reject(error) : resolve())),
  );
