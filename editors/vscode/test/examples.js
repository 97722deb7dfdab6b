#!/usr/bin/env node
// Tokenizes every examples/*.cadence of the repository with the extension's grammar and checks
// properties that hold whatever the examples say, so that an edit of an example needs no update
// here:
//
// - no token has a scope starting with `invalid`;
// - no non-whitespace token has only the root scope `source.cadence`;
// - the number of every `step N` that starts a line (outside a """ string) is `constant.numeric`;
// - every character of a `#` comment (outside strings) is `comment.line`;
// - every `{{...}}` inside a string is `meta.embedded.merge-field`.
//
// Comments, strings and merge fields are found by a small scanner of its own, not by the
// grammar, so that a broken grammar cannot hide them. Prints a line per file and a total, then
// every problem (file:line:column, the token text and its scopes), and exits 1 if there is one.
// Run from editors/vscode: node test/examples.js
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const ROOT = 'source.cadence';
const grammarPath = path.join(__dirname, '..', 'syntaxes', 'cadence.tmLanguage.json');
const examplesDir = path.join(__dirname, '..', '..', '..', 'examples');

async function loadGrammar() {
  const wasmPath = path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm');
  const wasm = fs.readFileSync(wasmPath);
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== ROOT) return null;
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar(ROOT);
  if (!grammar) throw new Error(`could not load ${grammarPath}`);
  return grammar;
}

// The regions of a file the grammar must recognise, found without the grammar: for each line,
// the column ranges ([start, end)) of `#` comments and of `{{...}}` inside strings, and whether
// the line starts inside a """ string.
function scan(lines) {
  const result = [];
  let inTriple = false;
  for (const line of lines) {
    const info = { startsInTriple: inTriple, comments: [], mergeFields: [] };
    let inDouble = false;
    let i = 0;
    while (i < line.length) {
      if (inTriple) {
        if (line.startsWith('"""', i)) {
          inTriple = false;
          i += 3;
        } else if (line.startsWith('{{', i)) {
          i = mergeField(line, i, info, '"""');
        } else {
          i += 1;
        }
      } else if (inDouble) {
        if (line[i] === '\\') {
          i += 2;
        } else if (line[i] === '"') {
          inDouble = false;
          i += 1;
        } else if (line.startsWith('{{', i)) {
          i = mergeField(line, i, info, '"');
        } else {
          i += 1;
        }
      } else if (line[i] === '#') {
        info.comments.push([i, line.length]);
        i = line.length;
      } else if (line.startsWith('"""', i)) {
        inTriple = true;
        i += 3;
      } else if (line[i] === '"') {
        inDouble = true;
        i += 1;
      } else {
        i += 1;
      }
    }
    result.push(info);
  }
  return result;
}

// Records the merge field that starts at `start` if it closes (`}}`) on this line before the
// string does (`stop`), and returns where scanning goes on.
function mergeField(line, start, info, stop) {
  const close = line.indexOf('}}', start + 2);
  const end = line.indexOf(stop, start + 2);
  if (close === -1 || (end !== -1 && end < close)) return start + 2;
  info.mergeFields.push([start, close + 2]);
  return close + 2;
}

// The scopes of the token that covers column `col`.
function scopesAt(tokens, col) {
  for (const t of tokens) {
    if (t.startIndex <= col && col < t.endIndex) return t.scopes;
  }
  return [];
}

function checkFile(grammar, file) {
  const name = path.relative(process.cwd(), file);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const regions = scan(lines);
  const problems = [];
  const counts = { lines: lines.length, tokens: 0, steps: 0, comments: 0, mergeFields: 0 };

  const report = (lineNo, col, what, token, scopes) => {
    problems.push(
      `${name}:${lineNo + 1}:${col + 1}: ${what}: ${JSON.stringify(token)} [${scopes.join(' ')}]`,
    );
  };
  // Reports the first character of [start, end) whose scopes fail `ok`, one problem per region.
  const checkRange = (lineNo, line, tokens, [start, end], ok, what) => {
    for (let col = start; col < end; col++) {
      const scopes = scopesAt(tokens, col);
      if (!ok(scopes)) {
        report(lineNo, col, what, line.slice(start, end), scopes);
        return;
      }
    }
  };

  let ruleStack = vsctm.INITIAL;
  lines.forEach((line, lineNo) => {
    const r = grammar.tokenizeLine(line, ruleStack);
    ruleStack = r.ruleStack;
    const tokens = r.tokens;
    counts.tokens += tokens.length;

    for (const t of tokens) {
      const tokenText = line.slice(t.startIndex, t.endIndex);
      const invalid = t.scopes.find((s) => s.startsWith('invalid'));
      if (invalid) {
        report(lineNo, t.startIndex, `scope ${invalid}`, tokenText, t.scopes);
      } else if (t.scopes.length === 1 && t.scopes[0] === ROOT && tokenText.trim() !== '') {
        report(lineNo, t.startIndex, 'unscoped token', tokenText, t.scopes);
      }
    }

    const info = regions[lineNo];
    const step = info.startsInTriple ? null : /^(\s*step\s+)(\d+)\b/.exec(line);
    if (step) {
      counts.steps += 1;
      const start = step[1].length;
      checkRange(
        lineNo,
        line,
        tokens,
        [start, start + step[2].length],
        (scopes) => scopes.some((s) => s.startsWith('constant.numeric')),
        'step number not constant.numeric',
      );
    }
    for (const range of info.comments) {
      counts.comments += 1;
      checkRange(
        lineNo,
        line,
        tokens,
        range,
        (scopes) => scopes.some((s) => s.startsWith('comment.line')),
        'comment not comment.line',
      );
    }
    for (const range of info.mergeFields) {
      counts.mergeFields += 1;
      checkRange(
        lineNo,
        line,
        tokens,
        range,
        (scopes) => scopes.some((s) => s.startsWith('meta.embedded.merge-field')),
        'merge field not meta.embedded.merge-field',
      );
    }
  });

  return { name, problems, counts };
}

async function main() {
  const grammar = await loadGrammar();
  const files = fs
    .readdirSync(examplesDir)
    .filter((f) => f.endsWith('.cadence'))
    .sort()
    .map((f) => path.join(examplesDir, f));
  if (files.length === 0) {
    console.error(`examples.js: no *.cadence file in ${examplesDir}`);
    process.exit(1);
  }

  const total = { files: 0, lines: 0, tokens: 0, steps: 0, comments: 0, mergeFields: 0 };
  const problems = [];
  for (const file of files) {
    const { name, problems: p, counts } = checkFile(grammar, file);
    problems.push(...p);
    total.files += 1;
    for (const k of ['lines', 'tokens', 'steps', 'comments', 'mergeFields']) total[k] += counts[k];
    console.log(
      `${p.length ? 'FAIL' : 'ok  '} ${name}: ${counts.lines} lines, ${counts.tokens} tokens` +
        ` (${counts.steps} steps, ${counts.comments} comments, ${counts.mergeFields} merge fields)` +
        (p.length ? `, ${p.length} problem(s)` : ''),
    );
  }
  // The key facts must have been checked at least once somewhere, or the test proves nothing.
  for (const k of ['steps', 'comments', 'mergeFields']) {
    if (total[k] === 0) problems.push(`examples: no ${k} found in any example, nothing was checked`);
  }
  console.log(
    `total: ${total.files} files, ${total.lines} lines, ${total.tokens} tokens` +
      ` (${total.steps} steps, ${total.comments} comments, ${total.mergeFields} merge fields)`,
  );
  if (problems.length) {
    console.error(`\n${problems.length} problem(s):`);
    for (const p of problems) console.error(p);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
