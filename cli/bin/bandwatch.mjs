#!/usr/bin/env node
// Entry point of the `bandwatch` CLI: TypeScript sources run through tsx's
// loader, so there is no build step between an edit and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
