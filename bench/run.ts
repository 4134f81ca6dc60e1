/*
 * `npm run bench`: benchmarks against peer tools on the same work in the same
 * run. Each suite prints its own table with ratios; nothing here asserts a
 * timing. `npm run bench -- snmp` runs one suite.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Measure under the node flags the collector runs with: those on the
// bandwatch bin's shebang line. Re-run this script with them when missing.
const shebang = readFileSync(new URL('../cli/bin/bandwatch.mjs', import.meta.url), 'utf8').split('\n', 1)[0] ?? '';
const binFlags = shebang.split(/\s+/).filter((w) => w.startsWith('--'));
const missing = binFlags.filter((f) => !process.execArgv.includes(f));
if (missing.length > 0) {
  const r = spawnSync(process.execPath, [...missing, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
console.log(`node flags: ${binFlags.join(' ') || '(none)'} (as the bandwatch bin runs)`);

const SUITES: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  snmp: () => import('./snmp'),
  ping: () => import('./ping'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
for (const name of names) {
  const load = SUITES[name];
  if (!load) {
    console.error(`bench: unknown suite "${name}" (known: ${Object.keys(SUITES).join(', ')})`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  const suite = await load();
  await suite.run();
}

export {};
