/**
 * HTML the console writes: a tagged template (`html`) that escapes every interpolated value unless
 * it is itself `SafeHtml` (the output of another `html` template). Pages are small pure functions
 * of their data built from it, so nothing a job, a token or a policy carries can become markup.
 */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/**
 * Text made safe for HTML content and quoted attribute values: `& < > " ' \`` escaped; NUL and
 * the other C0/C1 control characters (but tab, line feed, carriage return) and lone surrogates
 * (which cannot be encoded as UTF-8) replaced by U+FFFD.
 */
export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function part(value: unknown): string {
  if (value instanceof SafeHtml) return value.html;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(part).join('');
  return escapeHtml(value);
}

/** `html\`<p>${text}</p>\``: values escaped (arrays joined, null/undefined/false left out), SafeHtml kept. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** A query string of the given (non-empty) parameters, for links the pages build. */
export function queryString(params: Readonly<Record<string, string | undefined | null>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}
