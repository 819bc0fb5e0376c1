#!/usr/bin/env node
// `image-trainer` (npx image-trainer …): the compiled CLI. Build first with `npm run build`.
const path = require('path');
const entry = path.join(__dirname, '..', 'out', 'src', 'trainer', 'cli', 'main.js');
let cli;
try {
  cli = require(entry);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(entry)) {
    console.error(`image-trainer: error: the CLI is not built (${entry} is missing) — run \`npm run build\` first`);
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv);
