import type { ProviderName } from '../../config.js';
import type { UserState } from '../../domain/user.js';
import { PROVIDER_TITLES } from '../auth/strategies.js';
import { devBanner } from './signInPage.js';
import { html, page } from './html.js';

export interface AccountPageModel {
  user: UserState;
  providers: ProviderName[];
  identitiesPerProvider: number;
  csrfToken: string;
  devProvider: boolean;
  notice?: { kind: 'info' | 'error'; text: string } | null;
}

const title = (provider: string): string =>
  PROVIDER_TITLES[provider as ProviderName] ?? provider;

/** `GET /account`: connections, link and unlink, password, sign out. */
export const accountPage = (model: AccountPageModel): string => {
  const { user, csrfToken } = model;
  const methods = user.connections.length + (user.passwordHash ? 1 : 0);
  const csrf = html`<input type="hidden" name="_csrf" value="${csrfToken}" />`;
  const linkable = model.providers.filter(
    (provider) =>
      user.connections.filter((c) => c.provider === provider).length <
      model.identitiesPerProvider,
  );

  const connections = user.connections.map(
    (c) =>
      html`<li>
        <strong>${title(c.provider)}</strong> ${c.displayName ?? ''}
        <span class="muted">(id ${c.subject}${c.email ? html`, ${c.email}` : ''})</span>
        ${
          methods > 1
            ? html`<form method="post" action="/account/unlink" class="inline">
                ${csrf}
                <input type="hidden" name="provider" value="${c.provider}" />
                <input type="hidden" name="subject" value="${c.subject}" />
                <button type="submit">Unlink ${title(c.provider)}</button>
              </form>`
            : html`<p class="muted" id="last-${c.provider}">
                This is your only way to sign in, so it cannot be unlinked. Set a password
                or connect another account first.
              </p>`
        }
      </li>`,
  );

  return page({
    title: 'Your account',
    notice: model.notice,
    banner: devBanner(model.devProvider),
    body: html` <p>
        Signed in as
        <strong>${user.displayName ?? user.username ?? user.email ?? user.userId}</strong
        >${user.email ? html` (${user.email})` : ''}.
      </p>
      <h2>Connected accounts</h2>
      ${
        connections.length > 0
          ? html`<ul class="connections">
              ${connections}
            </ul>`
          : html`<p>None yet.</p>`
      }
      ${linkable.map(
        (provider) =>
          html`<form method="post" action="/auth/${provider}/link" class="inline">
            ${csrf} <button type="submit">Connect ${title(provider)}</button>
          </form> `,
      )}
      <h2>Password</h2>
      ${user.passwordHash ? html`<p>You can sign in as <strong>${user.username}</strong> with your password.</p>` : html`<p>You have no password yet.</p>`}
      <form method="post" action="/account/password">
        ${csrf}
        ${user.username === null ? html`<label for="username">Choose a username</label><input type="text" id="username" name="username" autocomplete="username" required />` : ''}
        ${
          user.passwordHash
            ? html`<label for="current-password">Current password</label>
              <input type="password" id="current-password" name="currentPassword"
                autocomplete="current-password" required />`
            : ''
        }
        <label for="password"
          >${user.passwordHash ? 'New password' : 'Password'} (8 characters or
          more)</label
        >
        <input
          type="password"
          id="password"
          name="password"
          autocomplete="new-password"
          required
          minlength="8"
        />
        <p>
          <button type="submit">
            ${user.passwordHash ? 'Change password' : 'Set password'}
          </button>
        </p>
      </form>
      <h2>Merge another account into this one</h2>
      <p>
        Signed up twice? Sign in to the other account once more and it is merged into this
        one: its connections move here and it is closed. You confirm before anything
        changes.
      </p>
      ${model.providers.map(
        (provider) =>
          html`<form method="post" action="/auth/${provider}/merge" class="inline">
            ${csrf} <button type="submit">Prove with ${title(provider)}</button>
          </form> `,
      )}
      <form method="post" action="/account/merge/password">
        ${csrf}
        <label for="merge-username">Or its username</label>
        <input type="text" id="merge-username" name="username" autocomplete="off" required />
        <label for="merge-password">and its password</label>
        <input type="password" id="merge-password" name="password" autocomplete="off"
          required />
        <p><button type="submit">Prove with the password</button></p>
      </form>
      <h2>Leave</h2>
      <form method="post" action="/auth/logout">
        ${csrf}<button type="submit">Sign out</button>
      </form>`,
  });
};
