import { TOKEN } from './service.js';

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  token?: string | null;
  headers?: Record<string, string>;
  /** A raw body, sent as is. */
  raw?: string;
}

/**
 * A small HTTP client for the API: JSON in, JSON (or problem+json) out. Given the service's
 * log head (`consistentWith`), its read-model queries wait for everything written so far
 * (`minPosition`), as a careful caller of an eventually consistent read model does.
 */
export const apiClient = (
  baseUrl: string,
  consistentWith?: { headPosition: () => Promise<bigint | null> },
) => {
  const call = async <T = Record<string, unknown>>(
    method: string,
    requested: string,
    body?: unknown,
    options: CallOptions = {},
  ): Promise<Reply<T>> => {
    const path = await withMinPosition(method, requested);
    const token = options.token === undefined ? TOKEN : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = options.raw;
    if (body !== undefined && payload === undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !headers['content-type']) {
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: (text ? JSON.parse(text) : null) as T,
    };
  };

  const withMinPosition = async (method: string, path: string): Promise<string> => {
    const query =
      /^\/api\/(users|identities)/.test(path) && !path.includes('minPosition=');
    if (method !== 'GET' || !consistentWith || !query) return path;
    const head = await consistentWith.headPosition();
    if (head === null) return path;
    return `${path}${path.includes('?') ? '&' : '?'}minPosition=${head}`;
  };

  return {
    call,
    command: <T = CommandAnswer>(name: string, body: unknown, options?: CallOptions) =>
      call<T>('POST', `/api/commands/${name}`, body, options),
    get: <T = Record<string, unknown>>(path: string, options?: CallOptions) =>
      call<T>('GET', path, undefined, options),
  };
};

export type ApiClient = ReturnType<typeof apiClient>;

export interface CommandAnswer {
  userId: string;
  revision: number;
  position: string;
  events: string[];
  code?: string;
  [key: string]: unknown;
}

/** Registers a user through a provider and returns its id, failing loudly otherwise. */
export const registerViaProvider = async (
  api: ApiClient,
  provider: string,
  subject: string | number,
  profile: Record<string, unknown> = {},
): Promise<CommandAnswer> => {
  const reply = await api.command('register-via-provider', {
    provider,
    subject,
    profile,
  });
  if (reply.status !== 201) {
    throw new Error(`registration failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
};
