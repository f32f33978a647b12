/**
 * A parsed YAML document to plain values, with the alias bomb ("billion laughs") reported instead of thrown: the
 * yaml library stops a document whose aliases expand past `maxAliasCount` with a ReferenceError that names no
 * line, which would reach the user as an unlocated exit 1. Used by the config loader and the model front matter.
 */
import { visit, type Document, type LineCounter } from 'yaml';

/** Alias expansions a document may make: the yaml library's own default, far above any real config. */
export const MAX_YAML_ALIASES = 100;

export type YamlValue = { value: unknown } | { problem: string; line: number | undefined };

/** `doc.toJS()`, or the problem and the line of the document's first alias when its aliases expand too far. */
export function yamlToJs(doc: Document, counter: LineCounter): YamlValue {
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (err) {
    if (!(err instanceof ReferenceError) || !/alias/i.test(err.message)) throw err;
    let first: number | undefined;
    visit(doc, {
      Alias(_, node) {
        first ??= node.range?.[0];
      },
    });
    return {
      problem: `YAML aliases expand to more than ${MAX_YAML_ALIASES} copies (an alias bomb?); write the values out or use fewer aliases`,
      line: first === undefined ? undefined : counter.linePos(first).line,
    };
  }
}
