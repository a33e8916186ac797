import type { ProviderName } from '../../config.js';
import type { UserState } from '../../domain/user.js';
import { PROVIDER_TITLES } from '../auth/strategies.js';
import { html, page } from './html.js';

const title = (provider: string): string =>
  PROVIDER_TITLES[provider as ProviderName] ?? provider;

const nameOf = (user: UserState): string =>
  user.displayName ?? user.username ?? user.email ?? user.userId;

/**
 * `GET /account/merge`: the person proved control of a second account; what merging it
 * into the signed-in one does, and the button that does it.
 */
export const mergePage = (model: {
  survivor: UserState;
  other: UserState;
  provedWith: string;
  csrfToken: string;
}): string => {
  const { survivor, other } = model;
  const csrf = html`<input type="hidden" name="_csrf" value="${model.csrfToken}" />`;
  return page({
    title: 'Merge your other account into this one?',
    body: html`<p>
        You proved with ${model.provedWith === 'password' ? 'its password' : title(model.provedWith)}
        that you also control the account
        <strong>${nameOf(other)}</strong>. Merging moves its connections to the account
        you are signed in to, <strong>${nameOf(survivor)}</strong>, and closes it.
      </p>
      <h2>What moves here</h2>
      ${
        other.connections.length > 0
          ? html`<ul class="connections">
              ${other.connections.map(
                (c) =>
                  html`<li>
                    <strong>${title(c.provider)}</strong> ${c.displayName ?? ''}
                    <span class="muted">(id ${c.subject})</span>
                  </li>`,
              )}
            </ul>`
          : html`<p>No connections: the other account signs in with a password only.</p>`
      }
      ${
        other.passwordHash
          ? html`<p class="muted">
              Its username and password are not carried over; after the merge you sign in
              the ways shown on your account page.
            </p>`
          : ''
      }
      <form method="post" action="/account/merge">
        ${csrf}
        <input type="hidden" name="mergedId" value="${other.userId}" />
        <button type="submit">Merge into this account</button>
      </form>
      <form method="post" action="/account/merge/cancel">
        ${csrf}<button type="submit">Cancel</button>
      </form>`,
  });
};
