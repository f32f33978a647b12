/**
 * Warehouse values → Row values, exactly: the conversions every adapter shares so a value keeps its precision
 * on its way out of the warehouse (see the Row glossary in warehouse-adapter.ts).
 *
 * Glossary:
 * - exact decimal: a DECIMAL/NUMERIC is a JS number only when the number prints as the same decimal; otherwise
 *   its decimal text (a JS number would round `12345678901234567890000` to `1.2345678901234568e+22`).
 * - out-of-range value: a date or timestamp outside years 1-9999 (±infinity included). JS dates reach only
 *   ±275,760 years, ISO-8601 text and both CRMs' date formats only four-digit years, and BigQuery and Snowflake stop
 *   at 9999 too; such a value is carried as an OutOfRangeValue (the warehouse's own text), never thrown while a
 *   result is read, so one bad row cannot fail a query and a sync rejects only that row.
 */

/** A date or timestamp outside years 1-9999 (or ±infinity), as the warehouse prints it. */
export class OutOfRangeValue {
  constructor(
    readonly kind: 'date' | 'timestamp',
    /** The warehouse's text of the value (`5000000-01-01`, `infinity`). */
    readonly text: string,
  ) {}

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }
}

/** A DECIMAL/NUMERIC's text as a number when that number prints as the same decimal, else the decimal text. */
export function exactDecimal(text: string): number | string {
  const n = Number(text);
  // NaN and ±Infinity (Postgres numeric has both) stay numbers: a sync rejects them by value.
  if (!Number.isFinite(n)) return n;
  const decimal = canonicalDecimal(text);
  if (decimal !== undefined && String(n) !== decimal) return decimal;
  return n === 0 ? 0 : n; // never -0
}

/**
 * Plain decimal text without trailing fractional zeros (`12.30` → `12.3`, `-0.00` → `0`); undefined for anything
 * else (exponents, `NaN`).
 */
export function canonicalDecimal(text: string): string | undefined {
  const m = /^([+-]?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) return undefined;
  const int = m[2]!.replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return m[1] === '-' && /[1-9]/.test(body) ? `-${body}` : body;
}

/** A JS number's decimal digits without exponent notation (`1e+22` → `10000000000000000000000`). */
export function numberDecimal(n: number): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(String(n));
  if (!m) return String(n);
  const digits = `${m[2]}${m[3] ?? ''}`;
  const point = 1 + Number(m[4]);
  const body =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${m[1]}${body}`;
}

/** Microseconds since the epoch of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59.999999Z. */
const MIN_MICROS = -62_135_596_800_000_000n;
const MAX_MICROS = 253_402_300_799_999_999n;

/** Days since the epoch of 0001-01-01 and of 9999-12-31. */
export const MIN_DATE_DAYS = -719_162;
export const MAX_DATE_DAYS = 2_932_896;

/**
 * A timestamp given in `unitsPerSecond` units since the epoch (UTC): a Date when it is whole milliseconds, its
 * ISO-8601 text with every fractional digit when it is finer (a Date would drop them), an OutOfRangeValue outside
 * years 1-9999. `text` is the warehouse's print of it, for the out-of-range case.
 */
export function timestampValue(
  units: bigint,
  unitsPerSecond: bigint,
  text: () => string,
): Date | string | OutOfRangeValue {
  const micros = (units * 1_000_000n) / unitsPerSecond;
  if (micros < MIN_MICROS || micros > MAX_MICROS) return new OutOfRangeValue('timestamp', text());
  const perMs = unitsPerSecond / 1000n;
  if (perMs <= 1n || units % perMs === 0n) {
    return new Date(Number(perMs <= 1n ? units * (1000n / unitsPerSecond) : units / perMs));
  }
  const digits = String(unitsPerSecond).length - 1;
  let seconds = units / unitsPerSecond;
  let frac = units % unitsPerSecond;
  if (frac < 0n) {
    seconds -= 1n;
    frac += unitsPerSecond;
  }
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(frac).padStart(digits, '0')}Z`;
}

/** Bytes (a BLOB, bytea, BYTES or BINARY value) as base64 text: CRM fields take text, and BigQuery's JSON does so. */
export function bytesText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
