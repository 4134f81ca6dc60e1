import { isIP } from 'node:net';
import { errorResult, fromRtts, type ProbeResult } from './types';

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

/**
 * `target<spaces> : v v v` → a ProbeResult; undefined for any other line.
 * Hand-rolled (10k lines a round): scans the line once, and builds the
 * result directly instead of an intermediate probe list.
 */
function resultLine(line: string): ProbeResult | undefined {
  const sep = line.indexOf(' : ');
  if (sep <= 0) return undefined;
  let end = sep;
  while (end > 0 && line.charCodeAt(end - 1) === 32) end--;
  const target = line.slice(0, end);
  if (target === '' || target.includes(' ')) return undefined;
  const rtts: number[] = [];
  let sent = 0;
  let pos = sep + 3;
  while (pos < line.length) {
    let next = line.indexOf(' ', pos);
    if (next < 0) next = line.length;
    if (next > pos) {
      const v = line.slice(pos, next);
      if (v !== '-') {
        if (!VALUE.test(v)) return undefined;
        rtts.push(Number(v));
      }
      sent++;
    }
    pos = next + 1;
  }
  return sent > 0 ? fromRtts(target, sent, rtts) : undefined;
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
  // fping prints its summary lines in the order of its target list, so each
  // line is first checked against the next expected target (a plain string
  // compare); only lines out of that order go through the lookup tables.
  const inOrder: Array<ProbeResult | undefined> = new Array<ProbeResult | undefined>(targets.length);
  let next = 0;
  let wantedSet: Set<string> | undefined;
  const wanted = (t: string) => (wantedSet ??= new Set(targets)).has(t);
  const byTarget = new Map<string, ProbeResult>();
  const errors = new Map<string, string>();
  const unparsed: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const r = resultLine(line);
    if (r) {
      if (r.target === targets[next]) {
        // The caller's own string: its hash is already computed for lookups.
        r.target = targets[next] as string;
        inOrder[next++] = r;
        continue;
      }
      if (wanted(r.target)) {
        byTarget.set(r.target, r);
        continue;
      }
    }
    const sep = line.indexOf(': ');
    if (sep > 0 && wanted(line.slice(0, sep))) {
      errors.set(line.slice(0, sep), line.slice(sep + 2));
      continue;
    }
    unparsed.push(line);
  }
  const results: ProbeResult[] = [];
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as string;
    const r = inOrder[i] ?? byTarget.get(t);
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
