#!/usr/bin/env node
// The `esmm` command line. The library is compiled to build/ by `npm ci` (the "prepare" script) or `npm run build`.
const path = require("node:path");
let cli;
try {
  cli = require(path.join(__dirname, "..", "build", "lib", "cli", "main.js"));
} catch (e) {
  if (e.code === "MODULE_NOT_FOUND") {
    console.error("esmm: the library is not built; run `npm run build` (or `make build`) first");
    process.exit(2);
  }
  throw e;
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
  },
);
