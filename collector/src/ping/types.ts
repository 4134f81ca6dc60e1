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
  const rtts = probes.filter((p): p is number => p !== null);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const r of rtts) {
    sum += r;
    if (r < min) min = r;
    if (r > max) max = r;
  }
  let diff = 0;
  for (let i = 1; i < rtts.length; i++) diff += Math.abs((rtts[i] as number) - (rtts[i - 1] as number));
  return {
    target,
    sent: probes.length,
    received: rtts.length,
    rttsMs: rtts,
    rttMinMs: rtts.length ? min : null,
    rttAvgMs: rtts.length ? sum / rtts.length : null,
    rttMaxMs: rtts.length ? max : null,
    jitterMs: rtts.length > 1 ? diff / (rtts.length - 1) : null,
  };
}

export function errorResult(target: string, error: TargetError): ProbeResult {
  return { target, sent: 0, received: 0, rttsMs: [], rttMinMs: null, rttAvgMs: null, rttMaxMs: null, jitterMs: null, error };
}
