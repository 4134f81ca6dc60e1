import { spawnSync } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { fileURLToPath } from 'node:url';

/*
 * Makes one demo link "go down" and come back, for real: a /32 blackhole
 * route for a loopback address in the kernel's local table. The longest
 * prefix wins over `local 127.0.0.0/8`, so probes to that one address fail
 * (fping shows `-`) while every other 127.x address keeps answering.
 * Restricted to 127.0.0.0/8, and never 127.0.0.1, which the demo's own
 * servers listen on.
 *
 *   npx tsx collector/src/ping/linkControl.ts down 127.0.1.20
 *   npx tsx collector/src/ping/linkControl.ts up 127.0.1.20
 *   npx tsx collector/src/ping/linkControl.ts status
 *
 * Needs root (or CAP_NET_ADMIN), like any route change.
 */

export function assertDemoAddress(address: string): void {
  if (!isIPv4(address) || !address.startsWith('127.')) throw new Error(`${address}: only 127.0.0.0/8 addresses can be taken down`);
  if (address === '127.0.0.1') throw new Error('127.0.0.1 carries the demo servers themselves; pick another 127.x address');
}

function ip(args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: (r.stderr ?? '').trim() };
}

/** Addresses currently blackholed in the local table. */
export function blackholedLoopbacks(): string[] {
  return ip(['route', 'show', 'table', 'local', 'type', 'blackhole'])
    .stdout.split('\n')
    .map((l) => /^blackhole (127\.\d+\.\d+\.\d+)/.exec(l.trim())?.[1])
    .filter((a): a is string => a !== undefined);
}

/** Takes the link to `address` down. Idempotent. */
export function loopbackDown(address: string): void {
  assertDemoAddress(address);
  if (blackholedLoopbacks().includes(address)) return;
  const r = ip(['route', 'add', 'blackhole', `${address}/32`, 'table', 'local']);
  if (!r.ok) throw new Error(`ip route add blackhole ${address}/32 table local: ${r.stderr}`);
}

/** Brings it back. Idempotent. */
export function loopbackUp(address: string): void {
  assertDemoAddress(address);
  if (!blackholedLoopbacks().includes(address)) return;
  const r = ip(['route', 'del', 'blackhole', `${address}/32`, 'table', 'local']);
  if (!r.ok) throw new Error(`ip route del blackhole ${address}/32 table local: ${r.stderr}`);
}

function main(argv: string[]): number {
  const [cmd, address] = argv;
  try {
    if (cmd === 'down' && address) loopbackDown(address);
    else if (cmd === 'up' && address) loopbackUp(address);
    else if (cmd !== 'status') {
      console.error('usage: linkControl.ts down|up 127.x.y.z | status');
      return 2;
    }
    const down = blackholedLoopbacks();
    console.log(down.length ? `down: ${down.join(', ')}` : 'no demo link is down');
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
