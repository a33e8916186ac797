import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import {
  createDevProvider,
  type DevFaults,
  type DevPerson,
  type DevProvider,
  type DevProviderName,
  standInEnvironment,
} from '../../src/devProvider/devProvider.js';
import { fieldValue, type CookieBrowser, type Page } from './browser.js';

export const CLIENTS = {
  github: { clientId: 'test-github-client', clientSecret: 'test-github-secret-123' },
  google: { clientId: 'test-google-client', clientSecret: 'test-google-secret-456' },
};

/** A whole answer, sent as it is in place of what the stand-in would answer. */
export interface RawAnswer {
  status?: number;
  contentType?: string;
  body: string;
}

/**
 * Answers no real provider gives, beyond what `faults` can shape: bodies that are not a
 * JSON object at all, lists of emails with anything in them. Read at request time.
 */
export interface HostileAnswers {
  /** In place of GitHub's /user and Google's userinfo. */
  profile?: RawAnswer;
  /** In place of GitHub's /user/emails. */
  emails?: RawAnswer;
}

export interface ProviderStandIns {
  url: string;
  faults: DevFaults;
  hostile: HostileAnswers;
  /** Every access and refresh token the stand-ins handed out, in order (secrets scans). */
  issued: { accessTokens: string[]; refreshTokens: string[] };
  provider: DevProvider;
  /** Registers the service's origin: redirects anywhere else are refused, as GitHub does. */
  registerCallbackOrigin: (origin: string) => void;
  /** The service's environment for these stand-ins (real client ids, their endpoints). */
  env: Record<string, string>;
  close: () => Promise<void>;
}

/**
 * GitHub and Google stand-ins on a port of their own, so the service talks to them over
 * HTTP as it would to the real ones. `faults` can be changed while a test runs.
 */
export const startProviderStandIns = async (
  options: { googleTokenSeconds?: number } = {},
): Promise<ProviderStandIns> => {
  const faults: DevFaults = {};
  const hostile: HostileAnswers = {};
  const issued = { accessTokens: [] as string[], refreshTokens: [] as string[] };
  // Like an OAuth app's registered callback: the service's address, once it is known.
  let registered: string | null = null;
  const provider = createDevProvider({
    clients: CLIENTS,
    faults,
    basePath: '',
    googleTokenSeconds: options.googleTokenSeconds,
    allowRedirect: (uri, name) =>
      uri.pathname === `/auth/${name}/callback` &&
      (registered === null || uri.origin === registered),
  });
  const app = express();
  app.get(
    ['/github/api/user', '/google/v1/userinfo'],
    sendRaw(() => hostile.profile),
  );
  app.get(
    '/github/api/user/emails',
    sendRaw(() => hostile.emails),
  );
  app.post(['/github/login/oauth/access_token', '/google/token'], recordTokens(issued));
  app.use(provider.router);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    faults,
    hostile,
    issued,
    provider,
    registerCallbackOrigin: (origin: string) => {
      registered = new URL(origin).origin;
    },
    env: standInEnvironment(url, CLIENTS),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

const sendRaw =
  (answer: () => RawAnswer | undefined): RequestHandler =>
  (_req, res, next) => {
    const raw = answer();
    if (!raw) return next();
    res
      .status(raw.status ?? 200)
      .type(raw.contentType ?? 'application/json')
      .send(raw.body);
  };

/** Notes the tokens of every token answer on their way out. */
const recordTokens =
  (issued: ProviderStandIns['issued']): RequestHandler =>
  (_req, res, next) => {
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const { access_token: access, refresh_token: refresh } = (body ?? {}) as Record<
        string,
        unknown
      >;
      if (typeof access === 'string') issued.accessTokens.push(access);
      if (typeof refresh === 'string') issued.refreshTokens.push(refresh);
      return json(body);
    };
    next();
  };

export type Person = Partial<DevPerson> & { id: string };

const personForm = (person: Person): Record<string, string> => ({
  id: person.id,
  login: person.login ?? '',
  name: person.name ?? '',
  email: person.email ?? '',
  ...(person.emailVerified ? { emailVerified: 'on' } : {}),
  ...(person.emailPrivate ? { emailPrivate: 'on' } : {}),
});

/**
 * Answers the provider's consent page (the page a flow has stopped at) as this person,
 * or denies access; returns where the flow ends.
 */
export const consent = async (
  browser: CookieBrowser,
  atProvider: Page,
  provider: DevProviderName,
  person: Person | 'deny',
): Promise<Page> => {
  const request = fieldValue(atProvider.html, 'request');
  const action = new URL(
    `${provider}/consent`,
    atProvider.url.replace(/\/(github|google)\/.*$/, '/'),
  );
  return browser.post(
    action.toString(),
    person === 'deny'
      ? { request, decision: 'deny' }
      : { request, decision: 'allow', ...personForm(person) },
  );
};
