import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { TargetError } from './types';

export type TargetFamily = 'ipv4' | 'ipv6' | 'hostname';

/*
 * Checks done before a target reaches a backend, in the monitor, so both
 * backends report bad input the same way and nothing malformed is ever handed
 * to a resolver: "300.1.1.1" is not an address, and glibc would otherwise
 * send it to DNS as a name.
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** The target's family, or why it can never be probed. Pure. */
export function classifyTarget(address: string): { family: TargetFamily } | { error: TargetError } {
  const v = isIP(address);
  if (v === 4) return { family: 'ipv4' };
  if (v === 6) return { family: 'ipv6' };
  // Dotted digits or a colon mean someone meant an address and got it wrong.
  if (/^[\d.]+$/.test(address) || address.includes(':') || address.includes('/')) {
    return { error: { kind: 'invalid_address', message: `"${address}" is not a valid IPv4 or IPv6 address` } };
  }
  const name = address.endsWith('.') ? address.slice(0, -1) : address;
  if (name.length === 0 || name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) {
    return { error: { kind: 'invalid_address', message: `"${address}" is neither an IP address nor a valid hostname` } };
  }
  // RFC 6761 §6.4: resolvers should answer names under .invalid negatively at once.
  if (/(^|\.)invalid$/i.test(name)) {
    return { error: { kind: 'unresolvable', message: `"${address}" is under .invalid, which never resolves (RFC 6761)` } };
  }
  return { family: 'hostname' };
}

/**
 * Whether the probing namespace has IPv6 beyond loopback and link-local: a
 * global (or unique-local) address. Without one an IPv6 target can only fail,
 * and that is a setup problem to report, not a link going down.
 */
export async function ipv6Available(netns?: string): Promise<boolean> {
  if (netns) {
    // `ip -n` reads the namespace's addresses without entering it for anything else.
    const out = await new Promise<string>((resolve) => {
      execFile('ip', ['-n', netns, '-6', '-o', 'addr', 'show', 'scope', 'global'], (err, stdout) => resolve(err ? '' : stdout));
    });
    return out.trim() !== '';
  }
  try {
    const text = await readFile('/proc/net/if_inet6', 'utf8');
    // Fields: address ifindex prefixlen scope flags name; scope 00 is global.
    return text.split('\n').some((l) => l.trim().split(/\s+/)[3] === '00');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // kernel without IPv6
    throw err;
  }
}
