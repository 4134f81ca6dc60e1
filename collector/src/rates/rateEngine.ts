import type { GapReason, InterfaceSample, RateResult } from '../contracts';

/*
 * Counter samples → bit rates. Pure: values in, values out, no clock and no
 * I/O, so every rule below is pinned by a table in rateEngine.test.ts.
 *
 * The billing rule is "a wrong number is worse than a missing one": anything
 * that could make a delta mean something other than octets moved between two
 * responses (reboot, discontinuity, rebinding, impossible speed, ambiguous
 * 32-bit wrap) yields a gap with a reason, never a guessed rate.
 */

export interface RateOptions {
  /** Headroom over ifHighSpeed before a delta is called impossible (collector.overspeed_tolerance_percent). */
  overspeedTolerancePercent: number;
}

const TWO_POW_32 = 1n << 32n;

function gap(reason: GapReason): RateResult {
  return { kind: 'gap', reason };
}

/** Most octets a link of `speedMbps` can move in `elapsedSeconds`, with the tolerance on top. */
function maxOctets(speedMbps: number, elapsedSeconds: number, tolerancePercent: number): number {
  return ((speedMbps * 1e6) / 8) * elapsedSeconds * (1 + tolerancePercent / 100);
}

type Delta = { ok: true; octets: bigint } | { ok: false; reason: GapReason };

function counterDelta(prev: bigint, cur: bigint, counters64: boolean, maxPossibleOctets: number | undefined): Delta {
  if (counters64) {
    // A 64-bit octet counter needs decades to wrap even at 400 Gb/s: going
    // down means it was cleared without the agent telling us.
    return cur >= prev ? { ok: true, octets: cur - prev } : { ok: false, reason: 'negative_delta' };
  }
  // 32-bit: when the link could have moved 2^32 octets in the interval we
  // cannot know how many wraps happened, so even an apparently small delta
  // is unusable. Without a known speed one visible wrap is just as ambiguous
  // (it may equally be a counter clear).
  if (maxPossibleOctets === undefined) {
    return cur >= prev ? { ok: true, octets: cur - prev } : { ok: false, reason: 'wrap_ambiguous' };
  }
  if (maxPossibleOctets >= Number(TWO_POW_32)) return { ok: false, reason: 'wrap_ambiguous' };
  return { ok: true, octets: cur >= prev ? cur - prev : cur + TWO_POW_32 - prev };
}

/**
 * The rate between two samples of the same binding. `prev` undefined means
 * first sample after start. Both samples must come from the same device;
 * the caller (RateEngine) keys them per binding.
 */
export function computeRate(prev: InterfaceSample | undefined, cur: InterfaceSample, options: RateOptions): RateResult {
  if (prev === undefined) return gap('first_sample');
  // The binding now points at another interface (renumbering, operator
  // change): the two counters are unrelated, so the delta means nothing.
  if (prev.deviceId !== cur.deviceId || prev.ifIndex !== cur.ifIndex || prev.ifName !== cur.ifName) return gap('rebind');
  // sysUpTime travels in the same PDU as the counters, so a reboot between
  // two polls shows here before the counters can look like traffic.
  if (cur.sysUpTimeTicks < prev.sysUpTimeTicks) return gap('counter_reset');
  if (cur.discontinuityTicks !== prev.discontinuityTicks) return gap('discontinuity');
  // A 32-bit agent may have swapped to HC counters (or back) after an
  // upgrade: the two values are from different counters.
  if (cur.counters64 !== prev.counters64) return gap('rebind');

  const elapsedSeconds = (cur.monotonicMs - prev.monotonicMs) / 1000;
  if (!(elapsedSeconds > 0)) return gap('negative_delta');

  const speedKnown = cur.ifHighSpeedMbps > 0;
  const limit = speedKnown ? maxOctets(cur.ifHighSpeedMbps, elapsedSeconds, options.overspeedTolerancePercent) : undefined;

  const inDelta = counterDelta(prev.inOctets, cur.inOctets, cur.counters64, limit);
  if (!inDelta.ok) return gap(inDelta.reason);
  const outDelta = counterDelta(prev.outOctets, cur.outOctets, cur.counters64, limit);
  if (!outDelta.ok) return gap(outDelta.reason);

  if (limit !== undefined && (Number(inDelta.octets) > limit || Number(outDelta.octets) > limit)) return gap('overspeed');

  return {
    kind: 'rate',
    inBps: (Number(inDelta.octets) * 8) / elapsedSeconds,
    outBps: (Number(outDelta.octets) * 8) / elapsedSeconds,
    inDeltaOctets: inDelta.octets,
    outDeltaOctets: outDelta.octets,
    elapsedSeconds,
  };
}

/**
 * Per-binding state around computeRate. Keyed by the binding (reseller VLAN
 * id), not by ifIndex: when a router renumbers, the binding follows the name,
 * the engine reports one `rebind` gap and the series (tagged by ifname, never
 * ifIndex) continues without a spike.
 */
export class RateEngine {
  private readonly last = new Map<string, InterfaceSample>();

  constructor(private readonly options: RateOptions) {}

  update(bindingId: string, sample: InterfaceSample): RateResult {
    const result = computeRate(this.last.get(bindingId), sample, this.options);
    // Every sample becomes the new baseline, gaps included: after a reset
    // or an over-speed the next interval measures from a clean start.
    this.last.set(bindingId, sample);
    return result;
  }

  /** Drops the state of bindings that no longer exist (inventory refresh). */
  retain(bindingIds: ReadonlySet<string>): void {
    for (const id of this.last.keys()) if (!bindingIds.has(id)) this.last.delete(id);
  }

  get size(): number {
    return this.last.size;
  }
}
