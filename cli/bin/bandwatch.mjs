#!/usr/bin/env -S node --no-memory-reducer
// Entry point of the `bandwatch` CLI: TypeScript sources run through tsx's
// loader, so there is no build step between an edit and a run.
//
// --no-memory-reducer: the collector works in bursts (a ping round, a poll
// cycle) and idles between them; V8's memory reducer reads each idle gap as
// "the program is done" and runs extra full GCs to shrink the heap, which
// the next burst grows again. Measured with `npm run bench -- ping` (10k
// targets): those GCs were a third of the monitor's CPU. Starting the bin
// another way (`node cli/bin/bandwatch.mjs …`) works too, with that cost.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
