import type { LinkStateName } from '@bandwatch/core';

/*
 * The Pinger contract. Both backends (fping, npm ping) return the same shape,
 * so the monitor and the state machine never know which one ran.
 */

/** Why a target could not be measured. A measured target that lost every probe has no error: that is a failed round. */
export type TargetErrorKind = 'invalid_address' | 'unresolvable' | 'no_ipv6' | 'backend';

export interface TargetError {
  kind: TargetErrorKind;
  message: string;
}

/** One target's result for one round. */
export interface ProbeResult {
  /** The target exactly as given to the pinger (IP literal or hostname). */
  target: string;
  sent: number;
  received: number;
  /** Per-probe round-trip times of the replies, in send order (lost probes omitted). */
  rttsMs: number[];
  rttMinMs: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  /** Mean absolute difference of consecutive replies within this round (null below two replies). */
  jitterMs: number | null;
  error?: TargetError;
}

export interface ProbeOptions {
  /** Probes per target. */
  count: number;
  /** Time to wait for one reply. */
  timeoutMs: number;
  /** Gap between two probes to the same target (fping -p). */
  periodMs: number;
  /** Gap between any two probes (fping -i); ignored by the ping backend. */
  sendIntervalMs: number;
}

/** Failure of a whole round (the backend could not run at all), as opposed to per-target errors. */
export class PingerError extends Error {
  readonly kind: 'spawn' | 'exit' | 'parse';

  constructor(kind: 'spawn' | 'exit' | 'parse', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PingerError';
    this.kind = kind;
  }
}

export interface Pinger {
  readonly name: 'fping' | 'ping';
  /** Probes every target once per call; one entry per target, in any order. Throws PingerError only when nothing could be measured. */
  probe(targets: readonly string[], options: ProbeOptions): Promise<ProbeResult[]>;
}

export type { LinkStateName };

/** Builds a ProbeResult from per-probe RTTs (null = lost). */
export function summarise(target: string, probes: ReadonlyArray<number | null>): ProbeResult {
  return fromRtts(
    target,
    probes.length,
    probes.filter((p): p is number => p !== null),
  );
}

/** Builds a ProbeResult from the replies' RTTs (in send order) and the number of probes sent. */
export function fromRtts(target: string, sent: number, rtts: number[]): ProbeResult {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let diff = 0;
  for (let i = 0; i < rtts.length; i++) {
    const r = rtts[i] as number;
    sum += r;
    if (r < min) min = r;
    if (r > max) max = r;
    if (i > 0) diff += Math.abs(r - (rtts[i - 1] as number));
  }
  const n = rtts.length;
  return {
    target,
    sent,
    received: n,
    rttsMs: rtts,
    rttMinMs: n ? min : null,
    rttAvgMs: n ? sum / n : null,
    rttMaxMs: n ? max : null,
    jitterMs: n > 1 ? diff / (n - 1) : null,
  };
}

export function errorResult(target: string, error: TargetError): ProbeResult {
  return { target, sent: 0, received: 0, rttsMs: [], rttMinMs: null, rttAvgMs: null, rttMaxMs: null, jitterMs: null, error };
}
