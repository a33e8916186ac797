import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { apiClient } from '../support/client.js';
import { removeDataDir, startTestService, type TestService } from '../support/service.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
// CI installs Debian's chromium (.ci/run) and must run this test; elsewhere it says why not.
if (!available && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: CI must install it`);
const SKIPPED = `skipped: ${CHROMIUM} is missing (apt-get install chromium)`;
if (!available) console.warn(`the real-browser test is ${SKIPPED}`);

const title = 'in a real browser, on the development provider';
describe.skipIf(!available)(available ? title : `${title} (${SKIPPED})`, () => {
  let service: TestService;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    service = await startTestService();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    if (service) removeDataDir(service);
  });

  it('signs up with GitHub, links Google, unlinks GitHub, signs out, and signs in with Google to the same account', async () => {
    // 1. Sign up with GitHub on the development provider.
    await page.goto(`${service.url}/`);
    await page.getByText('Development provider on').waitFor();
    await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
    await page
      .getByRole('heading', { name: /Sign in to GitHub \(development stand-in\)/ })
      .waitFor();
    await page.getByRole('button', { name: /Octo Cat/ }).click();
    await page.getByText('Your account was created with GitHub').waitFor();
    expect(new URL(page.url()).pathname).toBe('/account');

    // 2. Link Google from the account page.
    await page.getByRole('button', { name: 'Connect Google' }).click();
    await page.getByRole('button', { name: /Ann Example/ }).click();
    await page.getByText('Google is now connected').waitFor();

    // 3. Unlink GitHub.
    await page.getByRole('button', { name: 'Unlink GitHub' }).click();
    await page.getByText('GitHub was unlinked').waitFor();
    expect(await page.getByRole('button', { name: 'Unlink Google' }).count()).toBe(0);
    await page.getByText('This is your only way to sign in').waitFor();

    // 4. Sign out, then sign in with Google: the same account.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in with Google' }).waitFor();
    await page.getByRole('link', { name: 'Sign in with Google' }).click();
    await page.getByRole('button', { name: /Ann Example/ }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await page.getByText('Signed in as Octo Cat').waitFor();

    const api = apiClient(service.url, service.services.store);
    const google = (await api.get('/api/identities/google/109876543210')).body;
    const github = (await api.get('/api/identities/github/583231')).body;
    expect(google.status).toBe('linked');
    expect(github.status).toBe('released');
    const user = await api.get(`/api/users/${google.userId as string}`);
    expect(user.body).toMatchObject({ displayName: 'Octo Cat', status: 'active' });
    expect(user.body.connections).toMatchObject([{ provider: 'google' }]);
  }, 60_000);
});
