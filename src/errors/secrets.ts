/**
 * Secret scrubbing. Every value pqlsync reads from the environment for a credential (and every value
 * interpolated into a config field that looks like a secret) is registered here; error messages, log lines
 * and state rows pass through `scrubSecrets` before they leave the process.
 */

const MASK = '[redacted]';
const secrets = new Set<string>();

/** Environment variable names whose values are always treated as secrets, whatever config uses them. */
const SECRET_ENV_PATTERN = /(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|CLIENT_SECRET|CREDENTIALS)/i;

/** Registers a value to be masked wherever it appears. Values shorter than 4 characters are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string') return;
  const v = value.trim();
  if (v.length < 4) return;
  secrets.add(v);
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

/** Replaces every registered secret (longest first) and bearer tokens in `text` by `[redacted]`. */
export function scrubSecrets(text: string): string {
  let out = text;
  if (secrets.size > 0) {
    const sorted = [...secrets].sort((a, b) => b.length - a.length);
    for (const s of sorted) {
      if (out.includes(s)) out = out.split(s).join(MASK);
    }
  }
  return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, `$1${MASK}`);
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
}
