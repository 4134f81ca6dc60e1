import { isIP } from 'node:net';
import { errorResult, summarise, type ProbeResult } from './types';

/*
 * Parser for `fping -C N -q` output (fping 5.1), which goes to stderr:
 *
 *   127.0.1.10  : 0.451 0.040 -
 *   nosuch.example: Temporary failure in name resolution
 *
 * A result line pads the target and always has " : " before the values;
 * an error line has "target: message" (IPv6 literals contain ':' but never
 * ': ', so the first ': ' ends the target).
 */

const VALUE = /^(?:-|\d+(?:\.\d+)?)$/;

/** `target<spaces> : v v v` → target and per-probe RTTs; undefined for any other line. Hand-rolled: 10k lines a round. */
function resultLine(line: string): { target: string; probes: Array<number | null> } | undefined {
  const sep = line.indexOf(' : ');
  if (sep <= 0) return undefined;
  const target = line.slice(0, sep).trimEnd();
  if (target === '' || target.includes(' ')) return undefined;
  const probes: Array<number | null> = [];
  for (const v of line.slice(sep + 3).split(' ')) {
    if (v === '') continue;
    if (!VALUE.test(v)) return undefined;
    probes.push(v === '-' ? null : Number(v));
  }
  return probes.length > 0 ? { target, probes } : undefined;
}

export interface FpingParse {
  results: ProbeResult[];
  /** Lines that were neither a result nor an error for a known target (kept for the log). */
  unparsed: string[];
}

/**
 * Turns fping's stderr into one ProbeResult per requested target. A target
 * fping never reported (e.g. its name did not resolve) gets an error result,
 * so the caller always sees every target.
 */
export function parseFpingOutput(stderr: string, targets: readonly string[], count: number): FpingParse {
  const wanted = new Set(targets);
  const byTarget = new Map<string, ProbeResult>();
  const errors = new Map<string, string>();
  const unparsed: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const r = resultLine(line);
    if (r && wanted.has(r.target)) {
      byTarget.set(r.target, summarise(r.target, r.probes));
      continue;
    }
    const sep = line.indexOf(': ');
    if (sep > 0 && wanted.has(line.slice(0, sep))) {
      errors.set(line.slice(0, sep), line.slice(sep + 2));
      continue;
    }
    unparsed.push(line);
  }
  const results: ProbeResult[] = [];
  for (const t of targets) {
    const r = byTarget.get(t);
    if (r) {
      // fping -C prints one value per probe sent; a short line (fping killed
      // mid-write) counts the probes it does not show as lost, never as sent-and-fine.
      if (r.sent < count) r.sent = count;
      results.push(r);
      continue;
    }
    // With -q, fping 5.1 prints nothing for a name it cannot resolve: it just
    // leaves the name out and exits 2. A missing hostname is therefore
    // unresolvable; a missing IP literal is fping misbehaving.
    const message = errors.get(t) ?? (isIP(t) ? 'fping reported no result for this address' : 'name did not resolve');
    const kind = !isIP(t) || /name resolution|not known|no address|nodename/i.test(message) ? 'unresolvable' : 'backend';
    results.push(errorResult(t, { kind, message: `fping: ${t}: ${message}` }));
  }
  return { results, unparsed };
}
