/**
 * Secret scrubbing. Every value pqlsync reads from the environment for a credential (and every value
 * interpolated into a config field that looks like a secret) is registered here; error messages, log lines
 * and state rows pass through `scrubSecrets` before they leave the process.
 *
 * Glossary:
 * - encoding: the forms a secret takes when a CRM or client echoes it back: as is, URL-encoded (`%2F`, either hex
 *   case; `+` for a space), JSON-escaped (`\/`, `\"`, `\u002f`, a surrogate pair above U+FFFF), HTML entities, and base64 / base64url anywhere in
 *   a longer base64 text (a Basic auth header holds `base64(user:secret)`, so the secret sits at any of three byte
 *   alignments). Each registered secret is matched in all of them, character by character, so a mix (one URL-encoded
 *   character in an otherwise plain token) is masked too.
 * - userinfo: `scheme://user:password@host` in any URL is masked whole (`scheme://[redacted]@host`), registered or
 *   not: a password written into a `base_url` or a connection URL is never known as a secret.
 */

const MASK = '[redacted]';
const secrets = new Set<string>();
/** One pattern for every registered secret in every encoding, longest secret first; rebuilt on registration. */
let pattern: RegExp | undefined;

/** Environment variable names whose values are always treated as secrets, whatever config uses them. */
const SECRET_ENV_PATTERN = /(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|CLIENT_SECRET|CREDENTIALS)/i;

/** Registers a value to be masked wherever it appears. Values shorter than 4 characters are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string') return;
  const v = value.trim();
  if (v.length < 4 || secrets.has(v)) return;
  secrets.add(v);
  pattern = undefined;
}

/** Registers the values of every environment variable whose name looks like a credential. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (value && SECRET_ENV_PATTERN.test(name)) registerSecret(value);
  }
}

/** True when an env var name looks like a credential. */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_PATTERN.test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** `2f` as `2[fF]`: a hex pair in either case. */
function hexPattern(hex: string): string {
  return hex.replace(/[a-f]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

const JSON_SHORT: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};
const HTML_NAMED: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** A regex source matching one character of a secret in any of its encodings. */
function charPattern(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const alternatives = new Set<string>([escapeRegExp(ch)]);
  const bytes = [...Buffer.from(ch, 'utf8')].map((b) => b.toString(16).padStart(2, '0'));
  alternatives.add(bytes.map((b) => `%${hexPattern(b)}`).join(''));
  if (ch === ' ') alternatives.add('\\+');
  const short = JSON_SHORT[ch];
  if (short) alternatives.add(escapeRegExp(short));
  // JSON's \\u escape: one for a character up to U+FFFF, its UTF-16 surrogate pair above (RFC 8259 §7).
  const units = code <= 0xffff ? [code] : [ch.charCodeAt(0), ch.charCodeAt(1)];
  alternatives.add(units.map((u) => `\\\\u${hexPattern(u.toString(16).padStart(4, '0'))}`).join(''));
  const named = HTML_NAMED[ch];
  if (named) alternatives.add(escapeRegExp(named));
  alternatives.add(`&#0*${code};`);
  alternatives.add(`&#[xX]0*${hexPattern(code.toString(16))};`);
  return alternatives.size === 1 ? escapeRegExp(ch) : `(?:${[...alternatives].join('|')})`;
}

/**
 * The base64 text of `secret` wherever it sits in a longer base64 text: for each of the three byte alignments,
 * the characters that encode only the secret's bits (standard and URL-safe alphabets). Fragments shorter than 8
 * characters (secrets under about 7 bytes) are left out: they would mask unrelated text.
 */
function base64Fragments(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out = new Set<string>();
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const fragment = encoded.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
    if (fragment.length < 8) continue;
    out.add(fragment);
    out.add(fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...out];
}

function secretPattern(): RegExp | undefined {
  if (secrets.size === 0) return undefined;
  if (!pattern) {
    const sorted = [...secrets].sort((a, b) => b.length - a.length);
    const sources: string[] = [];
    for (const s of sorted) {
      sources.push([...s].map(charPattern).join(''));
      for (const fragment of base64Fragments(s)) sources.push(escapeRegExp(fragment));
    }
    pattern = new RegExp(sources.join('|'), 'g');
  }
  return pattern;
}

/** `scheme://userinfo@` in a URL (userinfo holds no `/`, `@` or whitespace; `%40` is an encoded `@`). */
const URL_USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#@\s"'<>]+@/g;

/**
 * Replaces every registered secret (longest first, in every encoding), the userinfo of any URL, and bearer and
 * basic credentials in `text` by `[redacted]`.
 */
export function scrubSecrets(text: string): string {
  // Whole credentials first: a registered secret masked inside a Basic header would leave the rest of it.
  const out = text
    .replace(URL_USERINFO, `$1${MASK}@`)
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, `$1${MASK}`)
    .replace(/(Basic\s+)[A-Za-z0-9+/=_-]{8,}/g, `$1${MASK}`);
  const known = secretPattern();
  return known ? out.replace(known, MASK) : out;
}

/** Deep-scrubs strings inside plain objects and arrays (for JSON logs and summaries). */
export function scrubValue<T>(value: T): T {
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v);
    return out as T;
  }
  return value;
}

/** For tests: forget every registered secret. */
export function clearSecretsForTests(): void {
  secrets.clear();
  pattern = undefined;
}
