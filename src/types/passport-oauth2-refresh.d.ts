declare module 'passport-oauth2-refresh' {
  import type { Strategy } from 'passport';

  type Done = (
    error: { statusCode?: number; data?: unknown } | null,
    accessToken?: string,
    refreshToken?: string,
    params?: Record<string, unknown>,
  ) => void;

  /** Refreshes access tokens through the OAuth2 settings of registered strategies. */
  export class AuthTokenRefresh {
    use(name: string, strategy: Strategy): void;
    has(name: string): boolean;
    requestNewAccessToken(name: string, refreshToken: string, done: Done): void;
  }
}
