// Type-checks the mutants of a Stryker JSON report made without the TypeScript checker (`checkers: []`): each
// mutant's replacement is applied to its file in memory, the program over tsconfig.mutation.json rebuilt (reusing the
// previous one), and the mutated file's diagnostics compared with the unmutated file's. Prints one line per mutant
// and the score over the mutants that type-check, as Stryker's checker would count them (issue 24).
// usage: node scripts/mutation-typecheck.mjs reports/mutation/mutation.json [--statuses Survived,NoCoverage] [--out r.json]
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import ts from 'typescript';

const args = process.argv.slice(2);
const reportPath = args[0];
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const statuses = opt('--statuses')?.split(',');
const outPath = opt('--out');
const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));

const root = process.cwd();
const cfgFile = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.mutation.json');
const cfg = ts.getParsedCommandLineOfConfigFile(
  cfgFile,
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
const overrides = new Map();
const host = ts.createCompilerHost(cfg.options);
const origGetSourceFile = host.getSourceFile.bind(host);
const cache = new Map();
host.getSourceFile = (fileName, lang, onError, shouldCreate) => {
  const abs = path.resolve(fileName);
  if (overrides.has(abs)) return ts.createSourceFile(fileName, overrides.get(abs), lang, true);
  if (!cache.has(abs)) cache.set(abs, origGetSourceFile(fileName, lang, onError, shouldCreate));
  return cache.get(abs);
};
let program = ts.createProgram(cfg.fileNames, cfg.options, host);

const diagTexts = (file) => {
  const sf = program.getSourceFile(file);
  return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map(
    (d) => `${d.start}:${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
  );
};

function offsetOf(text, { line, column }) {
  // Stryker's report: line and column 1-based.
  let off = 0;
  for (let l = 1; l < line; l++) off = text.indexOf('\n', off) + 1;
  return off + column - 1;
}

const results = {};
for (const [file, data] of Object.entries(report.files)) {
  const abs = path.resolve(root, file);
  const source = data.source;
  overrides.delete(abs);
  program = ts.createProgram(cfg.fileNames, cfg.options, host, program);
  const base = diagTexts(abs).length;
  for (const m of data.mutants) {
    if (statuses && !statuses.includes(m.status)) continue;
    const start = offsetOf(source, m.location.start);
    const end = offsetOf(source, m.location.end);
    overrides.set(abs, source.slice(0, start) + m.replacement + source.slice(end));
    program = ts.createProgram(cfg.fileNames, cfg.options, host, program);
    const diags = diagTexts(abs);
    const valid = diags.length <= base;
    results[m.id] = {
      file,
      line: m.location.start.line,
      mutator: m.mutatorName,
      status: m.status,
      valid,
      replacement: m.replacement.slice(0, 80),
      diag: valid ? undefined : diags[0],
    };
    console.log(
      `${valid ? 'valid  ' : 'INVALID'} ${m.status.padEnd(10)} ${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${JSON.stringify(m.replacement.slice(0, 60))}${valid ? '' : '  // ' + diags[0]?.slice(0, 120)}`,
    );
  }
  overrides.delete(abs);
}
if (outPath) fs.writeFileSync(outPath, JSON.stringify(results, null, 2));
const all = Object.values(results);
const valid = all.filter((r) => r.valid);
const count = (s) => valid.filter((r) => s.includes(r.status)).length;
console.log(
  `checked ${all.length}, valid ${valid.length}: killed ${count(['Killed'])}, timeout ${count(['Timeout'])}, survived ${count(['Survived'])}, no coverage ${count(['NoCoverage'])}, score ${((count(['Killed', 'Timeout']) / Math.max(1, count(['Killed', 'Timeout', 'Survived', 'NoCoverage']))) * 100).toFixed(1)}%`,
);
