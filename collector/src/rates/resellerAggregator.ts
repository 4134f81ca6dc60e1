import type { GapReason, RateResult } from '../contracts';

/*
 * Per-reseller sums. A reseller's rate is the sum of ALL its bound VLANs, and
 * it is written only when every one of them produced a rate in the same
 * aggregation round. A partial sum (one VLAN in a gap, or its device not
 * answering) would look exactly like a traffic drop: on a utilization graph
 * and in a 95th-percentile bill that is a wrong number, and for the IDLE rule
 * of the ping monitor it would even look like a quiet customer. So an
 * incomplete round is a gap, with the reason of the VLAN that caused it.
 *
 * A round opens with the first VLAN result after the previous round and
 * closes when every bound VLAN has reported once (VLANs on different devices
 * are polled at different moments), when a VLAN reports a second time before
 * the others (someone is missing), or when expire() finds it older than the
 * window (everyone is missing).
 */

export interface ResellerSpec {
  resellerId: string;
  /** Mbps sold; utilization = rate / committed. */
  committedMbps: number;
  /** Reseller VLAN ids that are bound to an interface right now. */
  bindingIds: readonly string[];
}

export type ResellerGapReason = GapReason | 'incomplete' | 'unbound';

export type ResellerAggregate =
  | {
      kind: 'rate';
      resellerId: string;
      inBps: number;
      outBps: number;
      committedBps: number;
      /** 0..1 (can exceed 1 when over the committed rate). */
      utilizationIn: number;
      utilizationOut: number;
      vlans: number;
      wallMs: number;
    }
  | { kind: 'gap'; resellerId: string; reason: ResellerGapReason; missingBindingIds: string[]; wallMs: number };

interface Round {
  openedWallMs: number;
  results: Map<string, { result: RateResult; wallMs: number }>;
}

export class ResellerAggregator {
  private specs = new Map<string, ResellerSpec>();
  private bindingToReseller = new Map<string, string>();
  private rounds = new Map<string, Round>();

  /** @param windowMs how long a round may wait for the last VLAN (about 1.5 × poll interval). */
  constructor(private readonly windowMs: number) {}

  /** Replaces the reseller → VLAN map; open rounds of changed resellers restart. */
  setResellers(specs: readonly ResellerSpec[]): void {
    const next = new Map(specs.map((s) => [s.resellerId, s]));
    for (const id of this.rounds.keys()) {
      const before = this.specs.get(id);
      const after = next.get(id);
      // A round half-filled under the old VLAN set cannot be completed honestly.
      if (!after || !before || !sameSet(before.bindingIds, after.bindingIds)) this.rounds.delete(id);
    }
    this.specs = next;
    this.bindingToReseller = new Map();
    for (const s of specs) for (const b of s.bindingIds) this.bindingToReseller.set(b, s.resellerId);
  }

  /** Records one VLAN's result; returns the reseller aggregates this closes (0, 1 or 2). */
  add(bindingId: string, result: RateResult, wallMs: number): ResellerAggregate[] {
    const resellerId = this.bindingToReseller.get(bindingId);
    if (resellerId === undefined) return [];
    const spec = this.specs.get(resellerId) as ResellerSpec;
    const out: ResellerAggregate[] = [];
    let round = this.rounds.get(resellerId);
    if (round && round.results.has(bindingId)) {
      // This VLAN is a full cycle ahead of another one: close what we have.
      out.push(this.close(spec, round, wallMs));
      round = undefined;
    }
    if (!round) {
      round = { openedWallMs: wallMs, results: new Map() };
      this.rounds.set(resellerId, round);
    }
    round.results.set(bindingId, { result, wallMs });
    if (round.results.size === spec.bindingIds.length) {
      out.push(this.close(spec, round, wallMs));
    }
    return out;
  }

  /** Closes rounds older than the window (a device that stopped answering). */
  expire(nowWallMs: number): ResellerAggregate[] {
    const out: ResellerAggregate[] = [];
    for (const [resellerId, round] of this.rounds) {
      if (nowWallMs - round.openedWallMs < this.windowMs) continue;
      const spec = this.specs.get(resellerId);
      if (spec) out.push(this.close(spec, round, nowWallMs));
      else this.rounds.delete(resellerId);
    }
    return out;
  }

  private close(spec: ResellerSpec, round: Round, nowWallMs: number): ResellerAggregate {
    this.rounds.delete(spec.resellerId);
    const missing = spec.bindingIds.filter((b) => !round.results.has(b));
    let latestWallMs = 0;
    let inBps = 0;
    let outBps = 0;
    let firstGap: GapReason | undefined;
    for (const { result, wallMs } of round.results.values()) {
      latestWallMs = Math.max(latestWallMs, wallMs);
      if (result.kind === 'rate') {
        inBps += result.inBps;
        outBps += result.outBps;
      } else {
        firstGap ??= result.reason;
      }
    }
    const wallMs = missing.length > 0 ? Math.max(latestWallMs, nowWallMs) : latestWallMs;
    if (firstGap !== undefined) return { kind: 'gap', resellerId: spec.resellerId, reason: firstGap, missingBindingIds: missing, wallMs };
    if (missing.length > 0) return { kind: 'gap', resellerId: spec.resellerId, reason: 'incomplete', missingBindingIds: missing, wallMs };
    const committedBps = spec.committedMbps * 1e6;
    return {
      kind: 'rate',
      resellerId: spec.resellerId,
      inBps,
      outBps,
      committedBps,
      utilizationIn: inBps / committedBps,
      utilizationOut: outBps / committedBps,
      vlans: spec.bindingIds.length,
      wallMs,
    };
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** A device's (uplink's) total over its bound VLANs from one poll. Same rule: all or nothing. */
export type DeviceTotal = { kind: 'rate'; inBps: number; outBps: number; vlans: number } | { kind: 'gap'; reason: ResellerGapReason };

export function deviceTotal(boundBindingIds: readonly string[], results: ReadonlyMap<string, RateResult>): DeviceTotal {
  if (boundBindingIds.length === 0) return { kind: 'gap', reason: 'unbound' };
  let inBps = 0;
  let outBps = 0;
  for (const id of boundBindingIds) {
    const r = results.get(id);
    if (r === undefined) return { kind: 'gap', reason: 'incomplete' };
    if (r.kind === 'gap') return { kind: 'gap', reason: r.reason };
    inBps += r.inBps;
    outBps += r.outBps;
  }
  return { kind: 'rate', inBps, outBps, vlans: boundBindingIds.length };
}
