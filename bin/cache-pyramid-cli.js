#!/usr/bin/env node
// `npx cache-pyramid`: the compiled CLI of an installed (or built) package; in a checkout that has
// not been built, the TypeScript source through tsx (a devDependency there).
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'lib', 'ops', 'cli.js');
if (fs.existsSync(compiled)) {
  require(compiled).runFromProcess();
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'lib', 'ops', 'cli.ts')).runFromProcess();
}
