import { expect } from 'vitest';

/** A console response as a browser would see it. */
export interface ConsolePage {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A browser-like client of the reviewer console (specs only): keeps its cookies, never follows redirects. */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(method: 'GET' | 'POST', path: string, form?: Record<string, string> | string, headers: Record<string, string> = {}): Promise<ConsolePage> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      body: form === undefined ? undefined : typeof form === 'string' ? form : new URLSearchParams(form).toString(),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (value) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  get(path: string): Promise<ConsolePage> {
    return this.request('GET', path);
  }

  /** A same-origin form POST (a raw string body is sent as is). */
  post(path: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<ConsolePage> {
    return this.request('POST', path, form, { origin: this.base, 'sec-fetch-site': 'same-origin', ...headers });
  }

  static async signedIn(base: string, authorization: string): Promise<ConsoleClient> {
    const client = new ConsoleClient(base);
    const form = await client.get('/console/sign-in');
    const res = await client.post('/console/sign-in', { csrf: consoleCsrfOf(form.text), token: authorization.replace(/^Bearer /, '') });
    expect(res.status).toBe(303);
    return client;
  }
}

/** The first CSRF token of a console page. */
export const consoleCsrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
/** The first hidden field of that name. */
export const consoleHidden = (html: string, name: string): string => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? '';
/** The code of the page's flash (`data-code`). */
export const consoleFlashCode = (html: string): string | null => /class="flash flash-\w+" data-code="([^"]*)"/.exec(html)?.[1] ?? null;
/** The text of the page's flash, tags removed. */
export const consoleFlashText = (html: string): string => (/<p class="flash[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '').replace(/<[^>]+>/g, '');
/** An attribute value as the browser decodes it. */
export const htmlDecode = (text: string): string =>
  text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
