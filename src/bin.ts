#!/usr/bin/env node
// The command `iglu` (package.json "bin": dist/bin/iglu.js, bundled by scripts/bundle.mjs).
// Errors name our own files through the bundle's source maps when DEBUG asks for stacks
// (Node's process.setSourceMapsEnabled; set before the CLI's code is loaded, which is why
// this file imports it dynamically); reading the maps is not paid on every start otherwise.
if (process.env.DEBUG) process.setSourceMapsEnabled(true);
await import('./cli.js');
