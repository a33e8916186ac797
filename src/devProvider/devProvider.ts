import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { html, page } from '../http/pages/html.js';
import { consentPage, type ConsentRequest } from './consentPage.js';

/**
 * A development stand-in for GitHub and Google: their OAuth endpoints and profile APIs,
 * shaped as they are on the wire, with a page where the person picks or types who they
 * are. The embedded default uses it when no client ids are configured; the tests use it,
 * on a port of its own, as the providers' stand-in (with `faults` to make a step fail).
 *
 * GitHub-shaped: `/github/login/oauth/authorize`, `/github/login/oauth/access_token`,
 * `/github/api/user`, `/github/api/user/emails`. Google-shaped: `/google/o/oauth2/v2/auth`
 * (PKCE S256 required), `/google/token` (code and refresh_token grants),
 * `/google/v1/userinfo`.
 */

export type DevProviderName = 'github' | 'google';

export interface DevClient {
  clientId: string;
  clientSecret: string;
}

/** A person as the stand-in plays them. */
export interface DevPerson {
  id: string;
  login: string;
  name: string;
  email: string | null;
  emailVerified: boolean;
  /** GitHub: the email is hidden from /user and only listed by /user/emails. */
  emailPrivate: boolean;
}

/** Ways to make a step fail, for tests. Read at request time, so tests can change them. */
export interface DevFaults {
  token?: 'http-400' | 'error-in-200' | 'http-500' | 'not-json';
  profile?: 'http-401' | 'http-500' | 'not-json';
  emails?: 'empty' | 'http-500' | 'not-json';
  /** Fields that replace (or, when undefined, remove) those of the profile JSON. */
  profileOverride?: Record<string, unknown>;
  /** The numeric GitHub id sent as a JSON number (true) or a string (false). */
  githubIdAsString?: boolean;
}

export interface DevProviderOptions {
  clients: Record<DevProviderName, DevClient>;
  faults?: DevFaults;
  /** Lifetime of Google access tokens; GitHub's do not expire. */
  googleTokenSeconds?: number;
  /** Where the consent page's forms post to (the router's own mount path). */
  basePath: string;
  /**
   * The registered redirect URIs. By default: `/auth/<provider>/callback` on the host the
   * browser used to reach the provider (the embedded default, where both are one server).
   */
  allowRedirect?: (uri: URL, provider: DevProviderName, req: Request) => boolean;
}

interface Authorization {
  provider: DevProviderName;
  clientId: string;
  redirectUri: string;
  state: string | null;
  scope: string;
  codeChallenge: string | null;
}

interface Grant extends Authorization {
  person: DevPerson;
  expires: number;
}

interface IssuedToken {
  provider: DevProviderName;
  person: DevPerson;
  scope: string;
  expires: number | null;
}

/**
 * The service's environment for a stand-in served at `url` with its router at the root:
 * the clients' ids and secrets, and the providers' endpoints (tests and benchmarks).
 */
export const standInEnvironment = (
  url: string,
  clients: Record<DevProviderName, DevClient>,
): Record<string, string> => ({
  GITHUB_CLIENT_ID: clients.github.clientId,
  GITHUB_CLIENT_SECRET: clients.github.clientSecret,
  GITHUB_AUTHORIZATION_URL: `${url}/github/login/oauth/authorize`,
  GITHUB_TOKEN_URL: `${url}/github/login/oauth/access_token`,
  GITHUB_USER_URL: `${url}/github/api/user`,
  GITHUB_EMAILS_URL: `${url}/github/api/user/emails`,
  GOOGLE_CLIENT_ID: clients.google.clientId,
  GOOGLE_CLIENT_SECRET: clients.google.clientSecret,
  GOOGLE_AUTHORIZATION_URL: `${url}/google/o/oauth2/v2/auth`,
  GOOGLE_TOKEN_URL: `${url}/google/token`,
  GOOGLE_USERINFO_URL: `${url}/google/v1/userinfo`,
});

const CODE_SECONDS = 60;
const REQUEST_SECONDS = 600;

export interface DevProvider {
  router: Router;
  /** How many access tokens were issued through a refresh token (tests). */
  refreshCount: () => number;
  /** Makes every access token issued so far expired (tests). */
  expireAccessTokens: () => void;
}

export const createDevProvider = (options: DevProviderOptions): DevProvider => {
  const router = express.Router();
  const pending = new Map<string, Authorization & { expires: number }>();
  const codes = new Map<string, Grant>();
  const accessTokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<
    string,
    { person: DevPerson; scope: string; clientId: string }
  >();
  let refreshes = 0;
  const faults = (): DevFaults => options.faults ?? {};
  const allowRedirect =
    options.allowRedirect ??
    ((uri: URL, provider: DevProviderName, req: Request) =>
      uri.pathname === `/auth/${provider}/callback` && uri.host === req.get('host'));
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  // 1. The authorization endpoints: check the request, then show the consent page.
  const authorize = (provider: DevProviderName) => (req: Request, res: Response) => {
    const query = req.query as Record<string, string | undefined>;
    const client = options.clients[provider];
    if (query.client_id !== client.clientId) {
      return refuse(res, 'The client_id is not one this provider knows.');
    }
    const redirect = parseUrl(query.redirect_uri);
    if (!redirect || !allowRedirect(redirect, provider, req)) {
      // As GitHub and Google do: never send a code to an address not registered.
      return refuse(res, 'The redirect_uri is not registered for this client.');
    }
    if (provider === 'google' && query.code_challenge_method !== 'S256') {
      return refuse(res, 'Google needs a PKCE code_challenge with S256.');
    }
    const id = randomToken(16);
    pending.set(id, {
      provider,
      clientId: query.client_id,
      redirectUri: query.redirect_uri as string,
      state: query.state ?? null,
      scope: query.scope ?? '',
      codeChallenge: query.code_challenge ?? null,
      expires: Date.now() + REQUEST_SECONDS * 1000,
    });
    const request: ConsentRequest = {
      provider,
      requestId: id,
      action: `${options.basePath}/${provider}/consent`,
      scope: query.scope ?? '',
    };
    res.type('html').send(consentPage(request));
  };

  // 2. The person's answer: a code (or access_denied) back to the client's redirect URI.
  const consent = (provider: DevProviderName) => (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const request = pending.get(String(body.request ?? ''));
    if (!request || request.provider !== provider || request.expires < Date.now()) {
      return refuse(
        res,
        'This authorization request was answered already, or it expired.',
      );
    }
    pending.delete(body.request!);
    const target = new URL(request.redirectUri);
    if (request.state !== null) target.searchParams.set('state', request.state);
    if (body.decision === 'deny') {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied access.');
      res.redirect(303, target.toString());
      return;
    }
    const code = randomToken(20);
    codes.set(code, {
      ...request,
      person: personFrom(body),
      expires: Date.now() + CODE_SECONDS * 1000,
    });
    target.searchParams.set('code', code);
    res.redirect(303, target.toString());
  };

  // 3. The token endpoints: the form body carries client credentials, code and redirect URI.
  const token = (provider: DevProviderName) => (req: Request, res: Response) => {
    const body = req.body as Record<string, string | undefined>;
    const fault = faults().token;
    if (fault === 'http-500') return void res.status(500).send('upstream trouble');
    if (fault === 'not-json') return void res.status(200).type('html').send('<html>oops');
    if (fault) return tokenError(res, provider, 'bad_verification_code', fault);

    const client = options.clients[provider];
    if (
      !sameSecret(body.client_id, client.clientId) ||
      !sameSecret(body.client_secret, client.clientSecret)
    ) {
      return tokenError(res, provider, 'invalid_client');
    }
    if (provider === 'google' && body.grant_type === 'refresh_token') {
      const stored = refreshTokens.get(body.refresh_token ?? '');
      if (!stored) return tokenError(res, provider, 'invalid_grant');
      refreshes += 1;
      return sendToken(res, provider, stored.person, stored.scope, false);
    }
    const grant = codes.get(body.code ?? '');
    codes.delete(body.code ?? '');
    if (
      !grant ||
      grant.provider !== provider ||
      grant.expires < Date.now() ||
      grant.clientId !== body.client_id ||
      grant.redirectUri !== body.redirect_uri
    ) {
      return tokenError(
        res,
        provider,
        provider === 'github' ? 'bad_verification_code' : 'invalid_grant',
      );
    }
    if (provider === 'google' && !pkceMatches(grant.codeChallenge, body.code_verifier)) {
      return tokenError(res, provider, 'invalid_grant');
    }
    sendToken(res, provider, grant.person, grant.scope, provider === 'google');
  };

  const tokenError = (
    res: Response,
    provider: DevProviderName,
    error: string,
    fault?: DevFaults['token'],
  ): void => {
    // GitHub answers a failed exchange with 200 and an error field; Google with 400.
    const inBody =
      fault === 'error-in-200' || (fault === undefined && provider === 'github');
    const status = inBody ? 200 : 400;
    res.status(status).json({ error, error_description: `stand-in refused: ${error}` });
  };

  const sendToken = (
    res: Response,
    provider: DevProviderName,
    person: DevPerson,
    scope: string,
    withRefresh: boolean,
  ): void => {
    const accessToken = `${provider === 'github' ? 'gho_' : 'ya29.'}${randomToken(24)}`;
    const seconds = options.googleTokenSeconds ?? 3600;
    accessTokens.set(accessToken, {
      provider,
      person,
      scope,
      expires: provider === 'google' ? Date.now() + seconds * 1000 : null,
    });
    const answer: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'bearer',
      scope,
    };
    if (provider === 'google') {
      answer.expires_in = seconds;
      if (withRefresh) {
        const refreshToken = `1//${randomToken(24)}`;
        refreshTokens.set(refreshToken, {
          person,
          scope,
          clientId: options.clients.google.clientId,
        });
        answer.refresh_token = refreshToken;
      }
    }
    res.json(answer);
  };

  // 4. The profile APIs, behind the access token.
  const bearer = (req: Request, provider: DevProviderName): IssuedToken | null => {
    const header = /^(?:Bearer|token)\s+(\S+)$/i.exec(
      req.get('authorization') ?? '',
    )?.[1];
    const value = header ?? (req.query.access_token as string | undefined);
    const issued = value ? accessTokens.get(value) : undefined;
    if (!issued || issued.provider !== provider) return null;
    if (issued.expires !== null && issued.expires < Date.now()) return null;
    return issued;
  };

  const profileFault = (res: Response): boolean => {
    const fault = faults().profile;
    if (fault === 'http-401') res.status(401).json({ message: 'Bad credentials' });
    else if (fault === 'http-500') res.status(500).send('upstream trouble');
    else if (fault === 'not-json') res.status(200).type('html').send('<html>maintenance');
    return fault !== undefined;
  };

  router.get('/github/login/oauth/authorize', authorize('github'));
  router.get('/google/o/oauth2/v2/auth', authorize('google'));
  router.post('/github/consent', form, consent('github'));
  router.post('/google/consent', form, consent('google'));
  router.post('/github/login/oauth/access_token', form, token('github'));
  router.post('/google/token', form, token('google'));

  router.get('/github/api/user', (req, res) => {
    const issued = bearer(req, 'github');
    if (!issued) return void res.status(401).json({ message: 'Bad credentials' });
    if (profileFault(res)) return;
    const { person } = issued;
    const numeric = /^\d+$/.test(person.id) && !faults().githubIdAsString;
    res.json(
      withOverride(
        {
          login: person.login,
          id: numeric ? Number(person.id) : person.id,
          node_id: `MDQ6VXNlcj${person.id}`,
          avatar_url: `https://avatars.example.invalid/u/${person.id}`,
          html_url: `https://github.example.invalid/${person.login}`,
          name: person.name || null,
          email: person.emailPrivate ? null : person.email,
        },
        faults().profileOverride,
      ),
    );
  });

  router.get('/github/api/user/emails', (req, res) => {
    const issued = bearer(req, 'github');
    if (!issued) return void res.status(401).json({ message: 'Bad credentials' });
    const fault = faults().emails;
    if (fault === 'http-500') return void res.status(500).send('upstream trouble');
    if (fault === 'not-json') return void res.type('html').send('<html>');
    const { person } = issued;
    if (fault === 'empty' || !person.email) return void res.json([]);
    res.json([
      {
        email: person.email,
        primary: true,
        verified: person.emailVerified,
        visibility: person.emailPrivate ? 'private' : 'public',
      },
    ]);
  });

  router.get('/google/v1/userinfo', (req, res) => {
    const issued = bearer(req, 'google');
    if (!issued) return void res.status(401).json({ error: 'invalid_token' });
    if (profileFault(res)) return;
    const { person } = issued;
    const [given, ...family] = person.name.split(' ');
    res.json(
      withOverride(
        {
          sub: person.id,
          name: person.name || undefined,
          given_name: given || undefined,
          family_name: family.join(' ') || undefined,
          picture: `https://lh3.example.invalid/a/${person.id}`,
          email: person.email ?? undefined,
          email_verified: person.email ? person.emailVerified : undefined,
        },
        faults().profileOverride,
      ),
    );
  });

  return {
    router,
    refreshCount: () => refreshes,
    expireAccessTokens: () => {
      for (const issued of accessTokens.values()) issued.expires = 0;
    },
  };
};

const parseUrl = (value: string | undefined): URL | null => {
  try {
    return value ? new URL(value) : null;
  } catch {
    return null;
  }
};

const refuse = (res: Response, text: string): void => {
  res
    .status(400)
    .type('html')
    .send(
      page({
        title: 'This sign-in cannot go on (development stand-in)',
        body: html`<p>${text}</p><p><a class="button" href="/">Back to the site</a></p>`,
      }),
    );
};

const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');

const sameSecret = (given: string | undefined, expected: string): boolean => {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

const pkceMatches = (challenge: string | null, verifier: string | undefined): boolean =>
  challenge !== null &&
  verifier !== undefined &&
  createHash('sha256').update(verifier).digest('base64url') === challenge;

const personFrom = (body: Record<string, string | undefined>): DevPerson => {
  const id =
    (body.id ?? '').trim() || String(100000 + Math.floor(Math.random() * 900000));
  return {
    id,
    login: (body.login ?? '').trim() || `user${id}`,
    name: (body.name ?? '').trim(),
    // As typed, but for ASCII blanks at its ends: a provider answers with the address it
    // holds, look-alike padding and all, which the service must judge itself.
    email: (body.email ?? '').replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '') || null,
    emailVerified: body.emailVerified === 'on' || body.emailVerified === 'true',
    emailPrivate: body.emailPrivate === 'on' || body.emailPrivate === 'true',
  };
};

const withOverride = (
  profile: Record<string, unknown>,
  override: Record<string, unknown> | undefined,
): Record<string, unknown> => {
  if (!override) return profile;
  const merged: Record<string, unknown> = { ...profile };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  return merged;
};
