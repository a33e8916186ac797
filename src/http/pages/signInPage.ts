import type { ProviderName } from '../../config.js';
import { PROVIDER_TITLES } from '../auth/strategies.js';
import { html, page, type Html } from './html.js';

export interface SignInPageModel {
  providers: ProviderName[];
  csrfToken: string;
  associate: boolean;
  devProvider: boolean;
  notice?: { kind: 'info' | 'error'; text: string } | null;
}

export const devBanner = (on: boolean): Html | null =>
  on
    ? html`<p class="dev" role="note">
        <strong>Development provider on.</strong> GitHub and Google are played by a local
        stand-in (no real accounts are involved), because no OAuth client ids are
        configured.
      </p>`
    : null;

/** `GET /`: sign in with a provider or a password, or create a password account. */
export const signInPage = (model: SignInPageModel): string =>
  page({
    title: 'Sign in',
    notice: model.notice,
    banner: devBanner(model.devProvider),
    body: html` 
      ${model.associate ? html`<p class="muted">Sign in with your password first; then connect GitHub or Google from your account page.</p>` : ''}
      <ul>
        ${model.providers.map(
          (provider) =>
            html`<li>
              <a class="button" href="/auth/${provider}"
                >Sign in with ${PROVIDER_TITLES[provider]}</a
              >
            </li>`,
        )}
      </ul>
      <h2>With a password</h2>
      <form method="post" action="/auth/password">
        <input type="hidden" name="_csrf" value="${model.csrfToken}" />
        <label for="username">Username</label>
        <input
          type="text"
          id="username"
          name="username"
          autocomplete="username"
          required
        />
        <label for="password">Password</label>
        <input
          type="password"
          id="password"
          name="password"
          autocomplete="current-password"
          required
        />
        <p><button type="submit">Sign in</button></p>
      </form>
      <h2>New here?</h2>
      <form method="post" action="/auth/register">
        <input type="hidden" name="_csrf" value="${model.csrfToken}" />
        <label for="new-username">Username</label>
        <input
          type="text"
          id="new-username"
          name="username"
          autocomplete="username"
          required
        />
        <label for="new-password">Password (8 characters or more)</label>
        <input
          type="password"
          id="new-password"
          name="password"
          autocomplete="new-password"
          required
          minlength="8"
        />
        <label for="new-email">Email (optional)</label>
        <input type="email" id="new-email" name="email" autocomplete="email" />
        <p><button type="submit">Create an account</button></p>
      </form>`,
  });
