import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  createDevProvider,
  type DevFaults,
  type DevPerson,
  type DevProvider,
  type DevProviderName,
} from '../../src/devProvider/devProvider.js';
import { fieldValue, type CookieBrowser, type Page } from './browser.js';

export const CLIENTS = {
  github: { clientId: 'test-github-client', clientSecret: 'test-github-secret-123' },
  google: { clientId: 'test-google-client', clientSecret: 'test-google-secret-456' },
};

export interface ProviderStandIns {
  url: string;
  faults: DevFaults;
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
  app.use(provider.router);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    faults,
    provider,
    registerCallbackOrigin: (origin: string) => {
      registered = new URL(origin).origin;
    },
    env: {
      GITHUB_CLIENT_ID: CLIENTS.github.clientId,
      GITHUB_CLIENT_SECRET: CLIENTS.github.clientSecret,
      GITHUB_AUTHORIZATION_URL: `${url}/github/login/oauth/authorize`,
      GITHUB_TOKEN_URL: `${url}/github/login/oauth/access_token`,
      GITHUB_USER_URL: `${url}/github/api/user`,
      GITHUB_EMAILS_URL: `${url}/github/api/user/emails`,
      GOOGLE_CLIENT_ID: CLIENTS.google.clientId,
      GOOGLE_CLIENT_SECRET: CLIENTS.google.clientSecret,
      GOOGLE_AUTHORIZATION_URL: `${url}/google/o/oauth2/v2/auth`,
      GOOGLE_TOKEN_URL: `${url}/google/token`,
      GOOGLE_USERINFO_URL: `${url}/google/v1/userinfo`,
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
