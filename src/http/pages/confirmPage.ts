import type { ProviderName } from '../../config.js';
import { PROVIDER_TITLES } from '../auth/strategies.js';
import { html, page } from './html.js';

export interface PendingLink {
  provider: ProviderName;
  subject: string;
  email: string | null;
  ownerId: string;
  expiresAt: number;
}

/** `GET /auth/confirm`: the identity is kept pending until the person proves the account. */
export const confirmPage = (model: {
  pending: PendingLink;
  providers: ProviderName[];
  csrfToken: string;
}): string => {
  const name = PROVIDER_TITLES[model.pending.provider];
  return page({
    title: 'An account with this email already exists',
    body: html` <p>
        Your ${name} account${model.pending.email ? html` (${model.pending.email})` : ''}
        has the same verified email as an account that already exists here. To connect
        ${name} to it, sign in the way you did before; ${name} is then connected in the
        same step.
      </p>
      <ul>
        ${model.providers.map(
          (provider) =>
            html`<li>
                <a class="button" href="/auth/${provider}"
                  >Sign in with ${PROVIDER_TITLES[provider]}</a
                >
              </li>`,
        )}
        <li><a class="button" href="/">Sign in with a password</a></li>
      </ul>
      <form method="post" action="/auth/confirm/cancel">
        <input type="hidden" name="_csrf" value="${model.csrfToken}" />
        <button type="submit">Cancel</button>
      </form>`,
  });
};
