import { html, page, type Html } from '../http/pages/html.js';
import type { DevPerson, DevProviderName } from './devProvider.js';

export interface ConsentRequest {
  provider: DevProviderName;
  requestId: string;
  action: string;
  scope: string;
}

type Preset = { label: string } & DevPerson;

const PRESETS: Record<DevProviderName, Preset[]> = {
  github: [
    {
      label: 'Octo Cat: public, verified email',
      id: '583231',
      login: 'octocat',
      name: 'Octo Cat',
      email: 'octocat@example.com',
      emailVerified: true,
      emailPrivate: false,
    },
    {
      label: 'Private Pat: private primary email',
      id: '1002',
      login: 'privatepat',
      name: 'Private Pat',
      email: 'pat@users.noreply.example.com',
      emailVerified: true,
      emailPrivate: true,
    },
    {
      label: 'Una Verified: unverified email',
      id: '1003',
      login: 'una',
      name: 'Una Verified',
      email: 'una@example.com',
      emailVerified: false,
      emailPrivate: false,
    },
    {
      label: 'Nomail Ned: no email at all',
      id: '1004',
      login: 'ned',
      name: 'Nomail Ned',
      email: null,
      emailVerified: false,
      emailPrivate: false,
    },
  ],
  google: [
    {
      label: 'Ann Example: verified email',
      id: '109876543210',
      login: '',
      name: 'Ann Example',
      email: 'ann@example.com',
      emailVerified: true,
      emailPrivate: false,
    },
    {
      label: 'Ben Unverified: unverified email',
      id: '109876543211',
      login: '',
      name: 'Ben Unverified',
      email: 'ben@example.com',
      emailVerified: false,
      emailPrivate: false,
    },
  ],
};

const TITLE: Record<DevProviderName, string> = { github: 'GitHub', google: 'Google' };

const hidden = (name: string, value: string | boolean | null): Html =>
  value === null || value === false
    ? html``
    : html`<input
        type="hidden"
        name="${name}"
        value="${value === true ? 'on' : value}"
      />`;

/** The stand-in's consent page: pick a person, type one, or deny access. */
export const consentPage = (request: ConsentRequest): string => {
  const name = TITLE[request.provider];
  const common = html`<input
    type="hidden"
    name="request"
    value="${request.requestId}"
  />`;
  const presets = PRESETS[request.provider].map(
    (preset) =>
      html`<li>
        <form method="post" action="${request.action}" class="inline">
          ${common}${hidden('id', preset.id)}${hidden('login', preset.login)}
          ${hidden('name', preset.name)}${hidden('email', preset.email)}
          ${hidden('emailVerified', preset.emailVerified)}${hidden('emailPrivate', preset.emailPrivate)}
          <button type="submit" name="decision" value="allow">
            Continue as ${preset.label}
          </button>
        </form>
      </li>`,
  );
  const body = html` <p>
      The client asks for: <code>${request.scope || '(no scope)'}</code>.
    </p>
    <h2>Pick someone</h2>
    <ul>
      ${presets}
    </ul>
    <h2>Or be someone else</h2>
    <form method="post" action="${request.action}">
      ${common}
      <label for="id"
        >${request.provider === 'github' ? 'Numeric id' : 'Subject (sub)'}</label
      >
      <input type="text" id="id" name="id" required />
      ${request.provider === 'github' ? html`<label for="login">Login</label><input type="text" id="login" name="login" />` : ''}
      <label for="name">Name</label><input type="text" id="name" name="name" />
      <label for="email">Email</label><input type="email" id="email" name="email" />
      <label><input type="checkbox" name="emailVerified" /> The email is verified</label>
      ${request.provider === 'github' ? html`<label><input type="checkbox" name="emailPrivate" /> The email is private (not on the public profile)</label>` : ''}
      <p><button type="submit" name="decision" value="allow">Continue</button></p>
    </form>
    <h2>Or refuse</h2>
    <form method="post" action="${request.action}">
      ${common}
      <button type="submit" name="decision" value="deny">Deny access</button>
    </form>`;
  return page({
    title: `Sign in to ${name} (development stand-in)`,
    banner: html`<p class="dev" role="note">
      <strong>Development stand-in.</strong> This is not the real ${name}: it is
      account-links' built-in development provider, on only because no OAuth client ids
      are configured and NODE_ENV is not production.
    </p>`,
    body,
  });
};
