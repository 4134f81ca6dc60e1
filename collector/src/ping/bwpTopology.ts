import { spawnSync } from 'node:child_process';

/*
 * A two-namespace test network, for the real-network tests and for trying
 * the monitor by hand. Every name starts with `bwp` and the only subnet is
 * 10.99.2.0/24, so it can never collide with another team's namespaces or
 * reach beyond this machine:
 *
 *   root ns:  bridge bwpbr0 10.99.2.254/24 ── bwpa0 ─┬─ bwpa1 10.99.2.1 (ns bwpa)
 *                                          └─ bwpb0 ─┴─ bwpb1 10.99.2.2 (ns bwpb)
 *
 * The collector probes from the root namespace through the bridge address;
 * `linkDown('a')` takes the root-side end bwpa0 down, so exactly 10.99.2.1
 * stops answering while 10.99.2.2 carries on.
 */

export const BWP = {
  bridge: 'bwpbr0',
  bridgeAddress: '10.99.2.254',
  a: { ns: 'bwpa', root: 'bwpa0', inner: 'bwpa1', address: '10.99.2.1' },
  b: { ns: 'bwpb', root: 'bwpb0', inner: 'bwpb1', address: '10.99.2.2' },
} as const;

type Side = 'a' | 'b';

function ip(args: string[], allowFail = false): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function tc(args: string[], allowFail = false): void {
  const r = spawnSync('tc', args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`tc ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Removes everything createBwpTopology makes; safe to call when nothing exists. */
export function destroyBwpTopology(): void {
  for (const side of [BWP.a, BWP.b]) {
    // Deleting the namespace deletes its veth end, which deletes the peer.
    ip(['netns', 'del', side.ns], true);
    ip(['link', 'del', side.root], true);
  }
  ip(['link', 'del', BWP.bridge], true);
}

/** Builds the topology from scratch (removing leftovers of a crashed run first). */
export function createBwpTopology(): void {
  destroyBwpTopology();
  ip(['link', 'add', BWP.bridge, 'type', 'bridge']);
  ip(['addr', 'add', `${BWP.bridgeAddress}/24`, 'dev', BWP.bridge]);
  ip(['link', 'set', BWP.bridge, 'up']);
  for (const side of [BWP.a, BWP.b]) {
    ip(['netns', 'add', side.ns]);
    ip(['-n', side.ns, 'link', 'set', 'lo', 'up']);
    ip(['link', 'add', side.root, 'type', 'veth', 'peer', 'name', side.inner, 'netns', side.ns]);
    ip(['link', 'set', side.root, 'master', BWP.bridge]);
    ip(['link', 'set', side.root, 'up']);
    ip(['-n', side.ns, 'addr', 'add', `${side.address}/24`, 'dev', side.inner]);
    ip(['-n', side.ns, 'link', 'set', side.inner, 'up']);
  }
}

export function linkDown(side: Side): void {
  ip(['link', 'set', BWP[side].root, 'down']);
}

export function linkUp(side: Side): void {
  ip(['link', 'set', BWP[side].root, 'up']);
}

/**
 * Shapes traffic towards one side (egress of its root-side end) with a token
 * bucket: `rateKbit` with a `burstBytes` bucket and a `limitBytes` queue.
 * netem is not available here; tbf both queues (adds RTT) and drops (loss).
 */
export function shape(side: Side, o: { rateKbit: number; burstBytes: number; limitBytes: number }): void {
  tc(['qdisc', 'replace', 'dev', BWP[side].root, 'root', 'tbf', 'rate', `${o.rateKbit}kbit`, 'burst', String(o.burstBytes), 'limit', String(o.limitBytes)]);
}

export function unshape(side: Side): void {
  tc(['qdisc', 'del', 'dev', BWP[side].root, 'root'], true);
}

function nft(ns: string, args: string[], allowFail = false): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`nft ${args.join(' ')} (in ${ns}): ${r.stderr.trim()}`);
}

/**
 * Drops exactly one echo request in every `n` that reach one side (nftables
 * `numgen inc mod n`, inside that side's namespace). Unlike a shaper's drops,
 * which depend on sub-millisecond timing, this loss is the same for any
 * prober: a round of k·n probes always loses exactly k of them.
 */
export function dropEveryNth(side: Side, n: number): void {
  const ns = BWP[side].ns;
  nft(ns, ['delete', 'table', 'inet', 'bwploss'], true);
  nft(ns, ['add', 'table', 'inet', 'bwploss']);
  nft(ns, ['add', 'chain', 'inet', 'bwploss', 'input', '{ type filter hook input priority 0; }']);
  nft(ns, ['add', 'rule', 'inet', 'bwploss', 'input', 'icmp', 'type', 'echo-request', 'numgen', 'inc', 'mod', String(n), '0', 'drop']);
}

export function stopDropping(side: Side): void {
  nft(BWP[side].ns, ['delete', 'table', 'inet', 'bwploss'], true);
}
