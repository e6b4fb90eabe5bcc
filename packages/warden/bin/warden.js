#!/usr/bin/env node
// The `warden` command. The CLI is compiled to dist/ by `npm run build` (run by `npm ci` via prepare).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('warden: not built yet; run `npm run build` (or `npm ci`) first\n');
  process.exit(2);
}
await import(entry.href);
