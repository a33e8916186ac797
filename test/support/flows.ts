import { expect } from 'vitest';
import { csrfOf, type CookieBrowser, type Page } from './browser.js';
import { consent, type Person } from './providers.js';

type ProviderName = 'github' | 'google';

/** Starts a sign-in and stops at the provider's consent page. */
export const startSignIn = async (
  browser: CookieBrowser,
  serviceUrl: string,
  provider: ProviderName,
): Promise<Page> => {
  const page = await browser.get(`${serviceUrl}/auth/${provider}`);
  expect(page.url).not.toContain(serviceUrl);
  return page;
};

/** A whole sign-in with a provider, as this person (or a refusal at the provider). */
export const signInWith = async (
  browser: CookieBrowser,
  serviceUrl: string,
  provider: ProviderName,
  person: Person | 'deny',
): Promise<Page> =>
  consent(browser, await startSignIn(browser, serviceUrl, provider), provider, person);

/** The explicit link action from the account page, then the provider, as this person. */
export const linkWith = async (
  browser: CookieBrowser,
  serviceUrl: string,
  provider: ProviderName,
  person: Person,
): Promise<Page> => {
  const account = await browser.get(`${serviceUrl}/account`);
  const atProvider = await browser.post(`${serviceUrl}/auth/${provider}/link`, {
    _csrf: csrfOf(account.html),
  });
  return consent(browser, atProvider, provider, person);
};

/** Posts one of the account page's forms with the page's CSRF token. */
export const postFromAccount = async (
  browser: CookieBrowser,
  serviceUrl: string,
  path: string,
  fields: Record<string, string>,
): Promise<Page> => {
  const account = await browser.get(`${serviceUrl}/account`);
  return browser.post(`${serviceUrl}${path}`, { _csrf: csrfOf(account.html), ...fields });
};

/** Signs in with a username and password from the sign-in page. */
export const signInWithPassword = async (
  browser: CookieBrowser,
  serviceUrl: string,
  username: string,
  password: string,
): Promise<Page> => {
  const home = await browser.get(`${serviceUrl}/`);
  return browser.post(`${serviceUrl}/auth/password`, {
    _csrf: csrfOf(home.html),
    username,
    password,
  });
};

export const signOut = async (
  browser: CookieBrowser,
  serviceUrl: string,
): Promise<Page> => postFromAccount(browser, serviceUrl, '/auth/logout', {});
