import { CookieJar } from 'tough-cookie';

export interface Page {
  status: number;
  url: string;
  html: string;
  headers: Headers;
  /** Every URL visited on the way, redirects included. */
  trail: string[];
}

const MAX_REDIRECTS = 10;

/**
 * A browser as far as HTTP goes: keeps cookies per site (tough-cookie), follows
 * redirects across origins, posts forms. Enough to walk OAuth flows end to end.
 */
export const cookieBrowser = () => {
  let jar = new CookieJar();

  const request = async (
    url: string,
    init: {
      method?: string;
      form?: Record<string, string>;
      /** A raw body, sent as it is with this content type (for odd requests). */
      raw?: { body: string; contentType?: string };
      follow?: boolean;
    } = {},
  ): Promise<Page> => {
    const trail: string[] = [];
    let method = init.method ?? (init.form || init.raw ? 'POST' : 'GET');
    let body: string | undefined = init.form
      ? new URLSearchParams(init.form).toString()
      : init.raw?.body;
    let contentType = init.raw
      ? init.raw.contentType
      : 'application/x-www-form-urlencoded';
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      trail.push(current);
      const headers: Record<string, string> = { accept: 'text/html' };
      const cookie = await jar.getCookieString(current);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined && contentType !== undefined)
        headers['content-type'] = contentType;
      const res = await fetch(current, { method, headers, body, redirect: 'manual' });
      for (const line of res.headers.getSetCookie()) await jar.setCookie(line, current);
      const location = res.headers.get('location');
      if (location && res.status >= 300 && res.status < 400 && init.follow !== false) {
        current = new URL(location, current).toString();
        // 303 and (for browsers) 302 turn a POST into a GET.
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
          contentType = undefined;
        }
        await res.arrayBuffer();
        continue;
      }
      return {
        status: res.status,
        url: current,
        html: await res.text(),
        headers: res.headers,
        trail,
      };
    }
    throw new Error(`too many redirects from ${url}`);
  };

  return {
    get: (url: string, options: { follow?: boolean } = {}) => request(url, options),
    post: (
      url: string,
      form: Record<string, string>,
      options: { follow?: boolean } = {},
    ) => request(url, { form, ...options }),
    /** Any method, with a raw body of any content type, or none. */
    send: (
      url: string,
      options: {
        method: string;
        raw?: { body: string; contentType?: string };
        follow?: boolean;
      },
    ) => request(url, options),
    cookies: (url: string) => jar.getCookies(url),
    /** Forgets every cookie: a browser that lost its session. */
    clearCookies: () => {
      jar = new CookieJar();
    },
  };
};

export type CookieBrowser = ReturnType<typeof cookieBrowser>;

/** The value of a hidden field in a page. */
export const fieldValue = (html: string, name: string): string => {
  const match = new RegExp(`name="${name}"\\s+value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no field ${name} in the page`);
  return match[1]!;
};

export const csrfOf = (html: string): string => fieldValue(html, '_csrf');

/** The page's main text, tags and extra whitespace removed, for assertions. */
export const textOf = (html: string): string =>
  html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
