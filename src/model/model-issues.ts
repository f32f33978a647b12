/**
 * Collected problems in a model file, turned into one PqlsyncError that lists them all with their locations.
 *
 * Used by the front-matter loader (MODEL_INVALID) and the compiler (MODEL_PARAM_INVALID): both check everything
 * first and report together, so a person fixes a file in one pass.
 */
import { formatLocation, PqlsyncError, type ErrorCode, type ErrorLocation } from '../errors/pqlsync-error.js';

/** One problem: where it is (file, line, field path or param) and what was found versus expected. */
export interface ModelIssue {
  location: ErrorLocation;
  message: string;
}

/**
 * Throws one error for all `issues` (does nothing when there are none). One issue keeps its own location;
 * several are listed one per line, in line order, under `<file>: N problems in model <name>:`.
 */
export function throwModelIssues(
  code: ErrorCode,
  file: string,
  model: string,
  issues: ModelIssue[],
  hint: string,
): void {
  issues = [...issues].sort((a, b) => (a.location.line ?? 0) - (b.location.line ?? 0));
  const first = issues[0];
  if (!first) return;
  const details = { issues: issues.map((i) => ({ ...i.location, message: i.message })) };
  if (issues.length === 1) {
    throw new PqlsyncError(code, first.message, { location: first.location, hint, details });
  }
  const lines = issues.map((i) => `  ${formatLocation(i.location)}: ${i.message}`);
  throw new PqlsyncError(code, `${issues.length} problems in model ${model}:\n${lines.join('\n')}`, {
    location: { file },
    hint,
    details,
  });
}

/** Renders a value for a message: strings quoted, arrays and objects as JSON, with its JS type. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return `array ${JSON.stringify(value)}`;
  if (value instanceof Date) return `date ${value.toISOString()}`;
  return `object ${JSON.stringify(value)}`;
}
