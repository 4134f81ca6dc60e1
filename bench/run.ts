/*
 * `npm run bench`: benchmarks against peer tools on the same work in the same
 * run. Each suite prints its own table with ratios; nothing here asserts a
 * timing. `npm run bench -- snmp` runs one suite.
 */
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
