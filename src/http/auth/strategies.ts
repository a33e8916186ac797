import { Passport } from 'passport';
import { Strategy as GitHubStrategy } from 'passport-github2';
import { Strategy as GoogleStrategy } from 'passport-google-oauth20';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Request } from 'express';
import type { Services } from '../../application/context.js';
import { signInWithPassword } from '../../application/passwordSignIn.js';
import type { OAuthProviderConfig, ProviderName } from '../../config.js';
import {
  githubProfile,
  googleProfile,
  type ProviderIdentity,
} from './providerProfile.js';

export const PROVIDER_TITLES: Record<ProviderName, string> = {
  github: 'GitHub',
  google: 'Google',
};

/** The scopes each flow asks for: GitHub's email list needs `user:email`. */
export const SCOPES: Record<ProviderName, string[]> = {
  github: ['user:email'],
  google: ['openid', 'email', 'profile'],
};

/** The signed-in person, as the session keeps it. */
export interface SessionUser {
  userId: string;
}

interface TokenParams {
  expires_in?: unknown;
  scope?: unknown;
}

const tokensOf = (
  now: Date,
  accessToken: string,
  refreshToken: string | undefined,
  params: TokenParams,
  fallbackScopes: string[],
): ProviderIdentity['tokens'] => {
  const seconds = Number(params.expires_in);
  const scopes =
    typeof params.scope === 'string' && params.scope.length > 0
      ? params.scope.split(/[ ,]+/)
      : fallbackScopes;
  return {
    accessToken,
    refreshToken: refreshToken || null,
    scopes,
    expiresAt:
      Number.isFinite(seconds) && seconds > 0
        ? new Date(now.getTime() + seconds * 1000)
        : null,
  };
};

/**
 * The Passport instance of one service: GitHub and Google through their real strategies
 * (state in the session under a key per provider, PKCE for Google), and passwords through
 * passport-local. The strategies run the OAuth dance; the verify callbacks only read who
 * the person is (see providerProfile.ts), and the route decides what that means.
 */
export const createPassport = (options: {
  services: Services;
  providers: Partial<Record<ProviderName, OAuthProviderConfig>>;
  /**
   * The base URL registered with the providers. Without it (development) the callback is
   * relative and follows the host the browser used.
   */
  publicUrl: string | null;
}): InstanceType<typeof Passport> => {
  const passport = new Passport();
  passport.serializeUser<SessionUser>((user, done) => done(null, user as SessionUser));
  passport.deserializeUser<SessionUser>((user, done) => done(null, user));

  const { github, google } = options.providers;
  if (github) {
    passport.use(
      'github',
      new GitHubStrategy(
        {
          clientID: github.clientId,
          clientSecret: github.clientSecret,
          callbackURL: `${options.publicUrl ?? ''}/auth/github/callback`,
          authorizationURL: github.authorizationURL,
          tokenURL: github.tokenURL,
          userProfileURL: github.userProfileURL,
          userEmailURL: github.userEmailURL,
          // The profile is read in the verify callback, robustly (see providerProfile.ts).
          skipUserProfile: true,
          store: true,
          sessionKey: 'oauth2:github',
          passReqToCallback: true,
        } as unknown as ConstructorParameters<typeof GitHubStrategy>[0],
        ((
          _req: Request,
          accessToken: string,
          refreshToken: string,
          params: TokenParams,
          _profile: unknown,
          done: (error: unknown, user?: ProviderIdentity) => void,
        ) => {
          githubProfile(github, accessToken).then(
            ({ subject, profile }) =>
              done(null, {
                provider: 'github',
                subject,
                profile,
                tokens: tokensOf(
                  options.services.now(),
                  accessToken,
                  refreshToken,
                  params,
                  SCOPES.github,
                ),
              }),
            done,
          );
        }) as unknown as ConstructorParameters<typeof GitHubStrategy>[1],
      ),
    );
  }

  if (google) {
    passport.use(
      'google',
      new GoogleStrategy(
        {
          clientID: google.clientId,
          clientSecret: google.clientSecret,
          callbackURL: `${options.publicUrl ?? ''}/auth/google/callback`,
          authorizationURL: google.authorizationURL,
          tokenURL: google.tokenURL,
          userProfileURL: google.userProfileURL,
          skipUserProfile: true,
          store: true,
          pkce: true,
          state: true,
          sessionKey: 'oauth2:google',
          passReqToCallback: true,
        } as unknown as ConstructorParameters<typeof GoogleStrategy>[0],
        ((
          _req: Request,
          accessToken: string,
          refreshToken: string,
          params: TokenParams,
          _profile: unknown,
          done: (error: unknown, user?: ProviderIdentity) => void,
        ) => {
          googleProfile(google, accessToken).then(
            ({ subject, profile }) =>
              done(null, {
                provider: 'google',
                subject,
                profile,
                tokens: tokensOf(
                  options.services.now(),
                  accessToken,
                  refreshToken,
                  params,
                  SCOPES.google,
                ),
              }),
            done,
          );
        }) as unknown as ConstructorParameters<typeof GoogleStrategy>[1],
      ),
    );
  }

  const MERGED_ACCOUNT =
    'This account was merged into another one: sign in with that account (its GitHub, ' +
    'Google or password).';
  passport.use(
    'local',
    new LocalStrategy((username, password, done) => {
      signInWithPassword(options.services, username, password).then(
        (result) =>
          result.ok
            ? done(null, { userId: result.userId } satisfies SessionUser)
            : done(null, false, {
                message:
                  result.reason === 'merged'
                    ? MERGED_ACCOUNT
                    : 'The username or password is not right.',
                merged: result.reason === 'merged',
              } as { message: string }),
        done,
      );
    }),
  );

  return passport;
};
