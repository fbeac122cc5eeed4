#!/usr/bin/env node
// Thin launcher: the CLI is written in TypeScript and compiled to dist/ by `npm install` (prepare).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2)));
