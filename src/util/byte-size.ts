/**
 * Sizes as DuckDB's memory_limit takes them: `32MB`, `1.5 GiB`, `512KB` (units of 1000, or of 1024 with an `i`).
 */

/** The units, as a regular-expression alternation (match case-insensitively). */
export const BYTE_SIZE_UNITS = 'B|KB|MB|GB|TB|KiB|MiB|GiB|TiB';

const SIZE = new RegExp(`^\\s*(\\d+(?:\\.\\d+)?)\\s*(${BYTE_SIZE_UNITS})?\\s*$`, 'i');

/** Bytes in a size (a bare number is bytes); NaN when it is not one. */
export function parseByteSize(size: string): number {
  const m = SIZE.exec(size);
  if (!m) return Number.NaN;
  const unit = (m[2] ?? 'B').toUpperCase();
  const power = ['B', 'K', 'M', 'G', 'T'].indexOf(unit[0]!);
  return Number(m[1]) * (unit.includes('I') ? 1024 : 1000) ** Math.max(0, power);
}
