import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Passport } from 'passport';
import { runCommand } from '../../application/commands/index.js';
import type { Services } from '../../application/context.js';
import { loadUser, startExecution } from '../../application/execution.js';
import { keepSignInTokens } from '../../application/providerTokens.js';
import {
  identityHolder,
  signInWithProvider,
  type SignInDecider,
} from '../../application/signIn.js';
import type { ProviderName } from '../../config.js';
import { isAccountLinkingError } from '../../domain/errors.js';
import type { TokenVault } from '../../storage/tokenVault.js';
import { accountPage } from '../pages/accountPage.js';
import { confirmPage } from '../pages/confirmPage.js';
import { mergePage } from '../pages/mergePage.js';
import type { MessageKey } from '../pages/messagePage.js';
import { signInPage } from '../pages/signInPage.js';
import {
  browserContext,
  login,
  logout,
  sessionUserOf,
  showMessage,
  takeNotice,
} from './browser.js';
import type { ProviderIdentity } from './providerProfile.js';
import { PROVIDER_TITLES, SCOPES } from './strategies.js';
import { forms } from '../schemas.js';
import { validate } from '../validation.js';

const PENDING_LINK_MS = 15 * 60 * 1000;
/** How long a person may take at the provider before the sign-in must start again. */
const FLOW_MS = 10 * 60 * 1000;
const RECENT_CALLBACK_MS = 60 * 1000;
/** How long a proven second account waits for the merge to be confirmed. */
const PENDING_MERGE_MS = 10 * 60 * 1000;

/**
 * What is wrong with a callback before Passport sees it: a state this session never got
 * (or got too long ago), an error from the provider, or no code. Passport itself looks
 * at an error before the state; this looks at the state first.
 */
const callbackProblem = (
  req: Request,
  provider: ProviderName,
  given: string,
): 'expired' | 'access-denied' | 'provider-failed' | null => {
  const stored = (
    req.session as unknown as Record<string, { state?: { handle?: string } }>
  )[`oauth2:${provider}`]?.state?.handle;
  const started = req.session.oauthStarted?.[provider] ?? 0;
  if (!stored || stored !== given || Date.now() - started > FLOW_MS) return 'expired';
  if (req.query.error === 'access_denied') return 'access-denied';
  if (req.query.error !== undefined) return 'provider-failed';
  if (typeof req.query.code !== 'string' || req.query.code === '') return 'expired';
  return null;
};

export interface BrowserDeps {
  services: Services;
  passport: InstanceType<typeof Passport>;
  providers: ProviderName[];
  vault: TokenVault;
  decide?: SignInDecider;
  csrfProtection: RequestHandler;
  csrfToken: (req: Request) => string;
  rateLimit: RequestHandler;
  pageLimit: RequestHandler;
  devProvider: boolean;
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void>;
const safely =
  (handler: Handler): RequestHandler =>
  (req, res, next) => {
    handler(req, res, next).catch(next);
  };

/**
 * The browser side: sign-in page, OAuth flows through Passport, password sign-in and
 * sign-up, the pending-link confirmation, and the account page. Every change goes through
 * the same commands as the HTTP API.
 */
export const browserRoutes = (deps: BrowserDeps): Router => {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const { services, passport } = deps;
  const known = (name: string): name is ProviderName =>
    (deps.providers as string[]).includes(name);
  const title = (provider: string) =>
    PROVIDER_TITLES[provider as ProviderName] ?? provider;

  // Signs in (after any pending link for this user) and goes to the account page.
  const completeSignIn = async (
    req: Request,
    res: Response,
    userId: string,
    notice?: string,
  ) => {
    const pending = req.session.pendingLink;
    delete req.session.pendingLink;
    let message: { kind: 'info' | 'error'; text: string } | undefined = notice
      ? { kind: 'info', text: notice }
      : undefined;
    if (pending && pending.expiresAt > Date.now()) {
      if (pending.ownerId === userId) {
        message = await linkPending(req, res, userId, pending);
      } else {
        message = {
          kind: 'error',
          text: `${title(pending.provider)} was not connected: you signed in to another account.`,
        };
      }
    }
    await login(req, { userId });
    if (message) req.session.notice = message;
    res.redirect(303, '/account');
  };

  const linkPending = async (
    req: Request,
    res: Response,
    userId: string,
    pending: NonNullable<Request['session']['pendingLink']>,
  ) => {
    try {
      await runCommand(services, browserContext(req, res, 'link', userId), {
        name: 'link-provider',
        input: {
          userId,
          provider: pending.provider,
          subject: pending.subject,
          profile: pending.profile,
        },
      });
      return {
        kind: 'info' as const,
        text: `${title(pending.provider)} is now connected.`,
      };
    } catch (error) {
      if (!isAccountLinkingError(error)) throw error;
      return {
        kind: 'error' as const,
        text: `${title(pending.provider)} could not be connected: ${error.message}.`,
      };
    }
  };

  // 1. Pages.
  router.get('/', deps.pageLimit, (req, res) => {
    // Signed in already: the account page (signing in again would switch accounts).
    if (sessionUserOf(req)) return res.redirect(303, '/account');
    res.type('html').send(
      signInPage({
        providers: deps.providers,
        csrfToken: deps.csrfToken(req),
        associate: services.policy.linkMode === 'associate',
        devProvider: deps.devProvider,
        notice: takeNotice(req),
      }),
    );
  });

  router.get(
    '/account',
    safely(async (req, res) => {
      const user = sessionUserOf(req);
      if (!user) {
        req.session.notice = { kind: 'error', text: 'Sign in first.' };
        return res.redirect(303, '/');
      }
      const execution = startExecution(services, browserContext(req, res, 'sign-in'));
      const state = (await loadUser(execution, user.userId)).state;
      if (state.status !== 'active') {
        await logout(req);
        return showMessage(res, 410, 'user-gone');
      }
      res.type('html').send(
        accountPage({
          user: state,
          providers: deps.providers,
          identitiesPerProvider: services.policy.identitiesPerProvider,
          csrfToken: deps.csrfToken(req),
          devProvider: deps.devProvider,
          notice: takeNotice(req),
        }),
      );
    }),
  );

  // For scripts of the signed-in page: who is signed in, and the CSRF token for the API.
  router.get('/auth/session', (req, res) => {
    const user = sessionUserOf(req);
    res.setHeader('Cache-Control', 'no-store');
    if (!user) {
      res.status(401).json({ userId: null });
      return;
    }
    res.json({ userId: user.userId, csrfToken: deps.csrfToken(req) });
  });

  router.get('/auth/confirm', (req, res) => {
    const pending = req.session.pendingLink;
    if (!pending || pending.expiresAt < Date.now())
      return showMessage(res, 400, 'expired');
    res.type('html').send(
      confirmPage({
        pending,
        providers: deps.providers,
        csrfToken: deps.csrfToken(req),
      }),
    );
  });

  router.post('/auth/confirm/cancel', form, deps.csrfProtection, (req, res) => {
    delete req.session.pendingLink;
    res.redirect(303, '/');
  });

  // 2. OAuth: start a sign-in (GET) or a link (POST with the CSRF token), then the callback.
  // Starts a flow: the provider's page, with a state (and PKCE for Google) kept in the
  // session under this provider's key, and the time it started.
  const startFlow = (
    req: Request,
    res: Response,
    next: NextFunction,
    provider: ProviderName,
    state: { intent: 'sign-in' } | { intent: 'link' | 'merge'; userId: string },
  ) => {
    req.session.oauthStarted = { ...req.session.oauthStarted, [provider]: Date.now() };
    passport.authenticate(
      provider as string,
      {
        scope: SCOPES[provider],
        state,
        accessType: 'offline',
      } as object,
    )(req, res, next);
  };

  router.get('/auth/:provider', deps.rateLimit, (req, res, next) => {
    const provider = req.params.provider as string;
    if (!known(provider)) return showMessage(res, 404, 'not-found');
    startFlow(req, res, next, provider, { intent: 'sign-in' });
  });

  // Linking a provider, or proving control of a second account to merge, starts from a
  // form of the account page.
  for (const intent of ['link', 'merge'] as const) {
    router.post(
      `/auth/:provider/${intent}`,
      deps.rateLimit,
      form,
      deps.csrfProtection,
      (req, res, next) => {
        const provider = req.params.provider as string;
        if (!known(provider)) return showMessage(res, 404, 'not-found');
        const user = sessionUserOf(req);
        if (!user) return showMessage(res, 401, 'sign-in-first');
        startFlow(req, res, next, provider, { intent, userId: user.userId });
      },
    );

    router.all(`/auth/:provider/${intent}`, (_req, res) => {
      res.setHeader('Allow', 'POST');
      res
        .status(405)
        .type('text/plain')
        .send('This starts with a form on the account page.');
    });
  }

  // Callbacks being handled or handled a moment ago, by state: a double click or a reload
  // of the callback ends where the first one did instead of on an error page.
  const recent = new Map<string, Promise<boolean>>();

  router.get('/auth/:provider/callback', deps.rateLimit, (req, res, next) => {
    const provider = req.params.provider as string;
    if (!known(provider)) return showMessage(res, 404, 'not-found');
    const given = typeof req.query.state === 'string' ? req.query.state : '';
    // The same browser (session) repeating the same callback, and nobody else.
    const repeat = `${req.sessionID}\n${given}`;

    const earlier = recent.get(repeat);
    if (earlier) {
      earlier.then(
        (signedIn) =>
          signedIn ? res.redirect(303, '/account') : showMessage(res, 400, 'expired'),
        next,
      );
      return;
    }

    // The state is checked first, whatever else the callback says (an error, no code).
    const problem = callbackProblem(req, provider, given);
    if (problem) {
      delete (req.session as unknown as Record<string, unknown>)[`oauth2:${provider}`];
      if (problem === 'access-denied')
        return showMessage(res, 403, 'access-denied', title(provider));
      if (problem === 'provider-failed') {
        req.log.warn(
          { provider, error: String(req.query.error).slice(0, 64) },
          'provider refused',
        );
        return showMessage(res, 502, 'provider-failed', title(provider));
      }
      // A reload of a callback that signed this browser in: back to the account.
      if (sessionUserOf(req) && !req.query.error) return res.redirect(303, '/account');
      return showMessage(res, 400, 'expired');
    }

    let settle: (signedIn: boolean) => void = () => {};
    recent.set(repeat, new Promise<boolean>((resolve) => (settle = resolve)));
    setTimeout(() => recent.delete(repeat), RECENT_CALLBACK_MS).unref();
    res.on('finish', () =>
      settle(res.statusCode === 303 && res.get('location') === '/account'),
    );

    passport.authenticate(
      provider as string,
      { session: false },
      (
        error: unknown,
        identity: ProviderIdentity | false,
        info?: { state?: unknown },
      ) => {
        callback(req, res, provider, error, identity, info).catch(next);
      },
    )(req, res, next);
  });

  const callback = async (
    req: Request,
    res: Response,
    provider: ProviderName,
    error: unknown,
    identity: ProviderIdentity | false,
    info?: { state?: unknown },
  ): Promise<void> => {
    const name = title(provider);
    if (error) {
      req.log.warn(
        { provider, error: (error as Error).name, reason: (error as Error).message },
        'provider sign-in failed',
      );
      return showMessage(res, 502, 'provider-failed', name);
    }
    if (!identity) {
      if (req.query.error === 'access_denied')
        return showMessage(res, 403, 'access-denied', name);
      return showMessage(res, 400, 'expired');
    }

    const state = (info?.state ?? {}) as { intent?: string; userId?: string };
    const signedIn = sessionUserOf(req)?.userId ?? null;
    // A link or merge must come back to the session that started it.
    if (
      (state.intent === 'link' || state.intent === 'merge') &&
      state.userId !== signedIn
    )
      return showMessage(res, 400, 'expired');
    if (state.intent === 'merge') return proveOtherAccount(req, res, provider, identity);
    const intent = state.intent === 'link' ? 'link' : 'sign-in';

    const outcome = await signInWithProvider(
      services,
      browserContext(req, res, intent, signedIn ?? `${provider}:${identity.subject}`),
      {
        provider,
        subject: identity.subject,
        profile: identity.profile,
        intent,
        signedInUserId: signedIn,
      },
      deps.decide,
    );
    // The token is kept whatever was decided, unless the sign-in was refused.
    if (outcome.kind === 'signed-in')
      await keepSignInTokens(services, deps.vault, identity, identity.tokens);
    else if (outcome.kind !== 'rejected') await deps.vault.put(identity, identity.tokens);

    switch (outcome.kind) {
      case 'signed-in':
        return completeSignIn(
          req,
          res,
          outcome.userId,
          outcome.created
            ? `Welcome! Your account was created with ${name}.`
            : outcome.linked
              ? `${name} is now connected.`
              : undefined,
        );
      case 'confirm-email-owner':
        req.session.pendingLink = {
          provider,
          subject: identity.subject,
          email: identity.profile.email,
          profile: identity.profile,
          ownerId: outcome.userId,
          expiresAt: Date.now() + PENDING_LINK_MS,
        };
        return res.redirect(303, '/auth/confirm');
      case 'kept-unowned':
        return showMessage(res, 200, 'kept-unowned', name);
      case 'rejected':
        // A link to a user erased or merged meanwhile: the session ends with its user.
        // (An erasure may have ended it already; saved as it is, it would come back.)
        if (intent === 'link' && rejectionPage(outcome.reason) === 'user-gone') {
          await logout(req);
        }
        return showMessage(
          res,
          rejectionStatus(outcome.reason),
          // Someone not signed in was matched by email to an account that has this
          // provider already: "your account" would be the wrong words for them.
          outcome.reason === 'provider-already-linked' && intent === 'sign-in'
            ? 'email-owner-has-provider'
            : rejectionPage(outcome.reason),
          name,
        );
    }
  };

  // The person signed in with an identity to prove they control the account holding it.
  const proveOtherAccount = async (
    req: Request,
    res: Response,
    provider: ProviderName,
    identity: ProviderIdentity,
  ): Promise<void> => {
    const survivorId = sessionUserOf(req)!.userId;
    const holder = await identityHolder(
      services,
      browserContext(req, res, 'merge'),
      identity,
      identity.profile,
    );
    if (holder.status !== 'linked') {
      req.session.notice = {
        kind: 'error',
        text: `No account here signs in with that ${title(provider)} account; use "Connect ${title(provider)}" to add it to this one.`,
      };
      return res.redirect(303, '/account');
    }
    // The identity keeps its tokens wherever it ends up (they are stored by identity).
    await deps.vault.put(identity, identity.tokens);
    return proposeMerge(req, res, survivorId, holder.userId, provider);
  };

  const proposeMerge = (
    req: Request,
    res: Response,
    survivorId: string,
    mergedId: string,
    provedWith: string,
  ): void => {
    if (mergedId === survivorId) {
      req.session.notice = {
        kind: 'info',
        text: 'That is the account you are signed in to already; nothing to merge.',
      };
      return res.redirect(303, '/account');
    }
    req.session.pendingMerge = {
      survivorId,
      mergedId,
      provedWith,
      expiresAt: Date.now() + PENDING_MERGE_MS,
    };
    res.redirect(303, '/account/merge');
  };

  // 3. Passwords: sign in, sign up.
  router.post(
    '/auth/password',
    deps.rateLimit,
    form,
    deps.csrfProtection,
    (req, res, next) => {
      passport.authenticate(
        'local',
        { session: false },
        (
          error: unknown,
          user: { userId: string } | false,
          info: { message?: string } | undefined,
        ) => {
          if (error) return next(error);
          if (!user) {
            req.session.notice = {
              kind: 'error',
              text: info?.message ?? 'The username or password is not right.',
            };
            return res.redirect(303, '/');
          }
          completeSignIn(req, res, user.userId).catch(next);
        },
      )(req, res, next);
    },
  );

  router.post(
    '/auth/register',
    deps.rateLimit,
    form,
    deps.csrfProtection,
    safely(async (req, res) => {
      try {
        const input = validate(forms.register, req.body ?? {});
        const result = await runCommand(services, browserContext(req, res, 'sign-in'), {
          name: 'register-local-user',
          input: {
            username: input.username,
            password: input.password,
            ...(input.email ? { email: input.email } : {}),
          },
        });
        await completeSignIn(
          req,
          res,
          result.userId,
          'Welcome! Your account was created.',
        );
      } catch (error) {
        if (!isAccountLinkingError(error)) throw error;
        req.session.notice = { kind: 'error', text: refusalText(error) };
        res.redirect(303, '/');
      }
    }),
  );

  router.post(
    '/auth/logout',
    form,
    deps.csrfProtection,
    safely(async (req, res) => {
      await logout(req);
      res.redirect(303, '/');
    }),
  );

  // 4. The account page's own actions.
  router.post(
    '/account/unlink',
    form,
    deps.csrfProtection,
    safely(async (req, res) => {
      const user = sessionUserOf(req);
      if (!user) return showMessage(res, 401, 'sign-in-first');
      try {
        const input = validate(forms.unlink, req.body ?? {});
        await runCommand(services, browserContext(req, res, 'sign-in'), {
          name: 'unlink-provider',
          input: {
            userId: user.userId,
            provider: input.provider,
            subject: input.subject,
          },
        });

        req.session.notice = {
          kind: 'info',
          text: `${title(input.provider)} was unlinked.`,
        };
      } catch (error) {
        if (!isAccountLinkingError(error)) throw error;
        req.session.notice = { kind: 'error', text: refusalText(error) };
      }
      res.redirect(303, '/account');
    }),
  );

  // 5. Merging a second account the person proved control of (by a provider above, or by
  //    its password here) into the signed-in one, after a confirmation page.
  router.post(
    '/account/merge/password',
    deps.rateLimit,
    form,
    deps.csrfProtection,
    (req, res, next) => {
      const user = sessionUserOf(req);
      if (!user) return showMessage(res, 401, 'sign-in-first');
      passport.authenticate(
        'local',
        { session: false },
        (
          error: unknown,
          other: { userId: string } | false,
          info: { merged?: boolean } | undefined,
        ) => {
          if (error) return next(error);
          if (!other) {
            req.session.notice = {
              kind: 'error',
              text: info?.merged
                ? 'That account was merged into another one already: there is nothing left in it to merge.'
                : 'The username or password of the other account is not right.',
            };
            return res.redirect(303, '/account');
          }
          proposeMerge(req, res, user.userId, other.userId, 'password');
        },
      )(req, res, next);
    },
  );

  const pendingMergeOf = (req: Request) => {
    const pending = req.session.pendingMerge;
    const user = sessionUserOf(req);
    return pending &&
      user?.userId === pending.survivorId &&
      pending.expiresAt > Date.now()
      ? pending
      : null;
  };

  router.get(
    '/account/merge',
    safely(async (req, res) => {
      if (!sessionUserOf(req)) return showMessage(res, 401, 'sign-in-first');
      const pending = pendingMergeOf(req);
      if (!pending) return showMessage(res, 400, 'expired');
      const execution = startExecution(services, browserContext(req, res, 'merge'));
      const survivor = (await loadUser(execution, pending.survivorId)).state;
      const other = (await loadUser(execution, pending.mergedId)).state;
      if (other.status !== 'active') {
        delete req.session.pendingMerge;
        req.session.notice = {
          kind: 'error',
          text: 'The other account is closed already; nothing to merge.',
        };
        return res.redirect(303, '/account');
      }
      res.type('html').send(
        mergePage({
          survivor,
          other,
          provedWith: pending.provedWith,
          csrfToken: deps.csrfToken(req),
        }),
      );
    }),
  );

  router.post(
    '/account/merge',
    form,
    deps.csrfProtection,
    safely(async (req, res) => {
      const user = sessionUserOf(req);
      if (!user) return showMessage(res, 401, 'sign-in-first');
      const pending = pendingMergeOf(req);
      const mergedId = forms.merge.safeParse(req.body ?? {}).data?.mergedId;
      // Only the account proven in this session, and only from the page that showed it.
      if (!pending || pending.mergedId !== mergedId) {
        return showMessage(res, 400, 'expired');
      }
      delete req.session.pendingMerge;
      try {
        await runCommand(services, browserContext(req, res, 'merge'), {
          name: 'merge-users',
          input: { survivorId: user.userId, mergedId: pending.mergedId },
        });
        req.session.notice = {
          kind: 'info',
          text: 'The other account was merged into this one; its connections are here now.',
        };
      } catch (error) {
        if (!isAccountLinkingError(error)) throw error;
        req.session.notice = { kind: 'error', text: refusalText(error) };
      }
      res.redirect(303, '/account');
    }),
  );

  router.post('/account/merge/cancel', form, deps.csrfProtection, (req, res) => {
    delete req.session.pendingMerge;
    res.redirect(303, '/account');
  });

  router.post(
    '/account/password',
    form,
    deps.csrfProtection,
    safely(async (req, res) => {
      const user = sessionUserOf(req);
      if (!user) return showMessage(res, 401, 'sign-in-first');
      try {
        const input = validate(forms.password, req.body ?? {});
        await runCommand(services, browserContext(req, res, 'sign-in'), {
          name: 'set-password',
          input: {
            userId: user.userId,
            password: input.password,
            ...(input.currentPassword !== undefined
              ? { currentPassword: input.currentPassword }
              : {}),
            ...(input.username ? { username: input.username } : {}),
          },
        });
        req.session.notice = { kind: 'info', text: 'Your password is set.' };
      } catch (error) {
        if (!isAccountLinkingError(error)) throw error;
        req.session.notice = { kind: 'error', text: refusalText(error) };
      }
      res.redirect(303, '/account');
    }),
  );

  return router;
};

const rejectionPage = (reason: string): MessageKey => {
  switch (reason) {
    case 'identity-already-linked':
    case 'provider-already-linked':
    case 'sign-in-first':
    case 'link-explicitly':
      return reason;
    case 'user-merged':
    case 'user-erased':
    case 'user-not-found':
      return 'user-gone';
    default:
      return 'unavailable';
  }
};

const rejectionStatus = (reason: string): number =>
  reason === 'sign-in-first' ? 401 : reason === 'unavailable' ? 503 : 409;

const REFUSALS: Record<string, string> = {
  'username-taken': 'That username is taken; pick another.',
  'last-sign-in-method':
    'That is your only way to sign in; add another before removing it.',
  'identity-not-linked': 'That account is not connected to you.',
  'provider-already-linked':
    'Both accounts have this kind of provider connected, and an account may have only one; unlink one of them first.',
  'validation-failed': 'Some fields are not valid',
};

/** A refusal in words for a page. Validation lists the fields, never their values. */
const refusalText = (error: {
  code: string;
  message: string;
  errors?: { path: string; message: string }[];
}): string => {
  const base = REFUSALS[error.code] ?? error.message;
  if (error.code !== 'validation-failed' || !error.errors) return base;
  const fields = error.errors.map((e) => `${FIELDS[e.path] ?? e.path} ${e.message}`);
  return `${base}: ${fields.join('; ')}.`;
};

const FIELDS: Record<string, string> = {
  currentPassword: 'the current password',
  password: 'the password',
  username: 'the username',
  email: 'the email',
};
