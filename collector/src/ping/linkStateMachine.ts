import type { LinkStateName } from '@bandwatch/core';
import type { ResellerRateSnapshot } from '../contracts';

/*
 * The per-target link state machine. Pure: state in, observation in, state
 * out. The monitor owns I/O; everything that decides UP/DOWN lives here and
 * is table-tested.
 *
 *   UNKNOWN  until the first usable result, and whenever a target cannot be
 *            probed at all (bad address, no IPv6, unresolvable name).
 *   DOWN     `downAfterFailures` consecutive rounds with no reply at all.
 *            Leaving DOWN takes `upAfterSuccesses` consecutive answered rounds.
 *   DEGRADED loss or average RTT above the thresholds for `degradedRounds`
 *            consecutive rounds; it clears after `upAfterSuccesses` clean rounds.
 *   IDLE     answering and not degraded, but the reseller's traffic
 *            (max of in/out) stayed below the floor for `idleMinutes`. An
 *            unknown or stale rate never makes a link IDLE.
 *   UP       answering and none of the above.
 * Precedence when several hold: DOWN > DEGRADED > IDLE > UP.
 */

export interface StateMachineParams {
  downAfterFailures: number;
  upAfterSuccesses: number;
  degradedLossPercent: number;
  degradedRttMs: number;
  degradedRounds: number;
  idleFloorMbps: number;
  idleMinutes: number;
}

export interface TargetLinkState {
  state: LinkStateName;
  sinceMs: number;
  consecutiveFailures: number;
  /** Answered rounds in a row (any loss below 100 %). */
  consecutiveSuccesses: number;
  /** Answered rounds in a row above a degraded threshold. */
  consecutiveDegraded: number;
  /** Answered rounds in a row within the thresholds. */
  consecutiveClean: number;
  /** Since when the reseller's traffic has been below the idle floor (null: not below, or unknown). */
  lowTrafficSinceMs: number | null;
  lastError: string | null;
}

export type RoundObservation =
  | { kind: 'measured'; lossPercent: number; rttAvgMs: number | null }
  | { kind: 'error'; message: string };

export interface Transition {
  from: LinkStateName;
  to: LinkStateName;
  reason: string;
}

export function initialState(nowMs: number): TargetLinkState {
  return {
    state: 'UNKNOWN',
    sinceMs: nowMs,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    consecutiveDegraded: 0,
    consecutiveClean: 0,
    lowTrafficSinceMs: null,
    lastError: null,
  };
}

export function isDegradedRound(obs: { lossPercent: number; rttAvgMs: number | null }, p: StateMachineParams): boolean {
  return obs.lossPercent > p.degradedLossPercent || (obs.rttAvgMs !== null && obs.rttAvgMs > p.degradedRttMs);
}

/** Low-traffic tracking: starts when a fresh rate is below the floor, resets on anything else. */
function nextLowTrafficSince(prev: number | null, rate: ResellerRateSnapshot | undefined, p: StateMachineParams, nowMs: number): number | null {
  const idleWindowMs = p.idleMinutes * 60_000;
  // A rate older than the idle window says nothing about the window: treat it as unknown.
  if (!rate || nowMs - rate.wallMs > idleWindowMs) return null;
  const below = Math.max(rate.inBps, rate.outBps) < p.idleFloorMbps * 1e6;
  if (!below) return null;
  return prev ?? rate.wallMs;
}

/** One round for one target. Returns the next state and the transition, if any. */
export function step(
  prev: TargetLinkState,
  obs: RoundObservation,
  p: StateMachineParams,
  nowMs: number,
  rate?: ResellerRateSnapshot,
): { next: TargetLinkState; transition?: Transition } {
  const lowTrafficSinceMs = nextLowTrafficSince(prev.lowTrafficSinceMs, rate, p, nowMs);
  let next: TargetLinkState;
  // Runs every round for every target: the state is decided first, and the
  // reason (a formatted string) only when there is a transition to explain.
  let degradedNow = false;
  if (obs.kind === 'error') {
    // Nothing was measured: all counters restart, so a target that becomes
    // probe-able again is judged on fresh rounds only.
    next = { ...initialState(prev.sinceMs), state: 'UNKNOWN', lowTrafficSinceMs, lastError: obs.message };
  } else if (obs.lossPercent >= 100) {
    const failures = prev.consecutiveFailures + 1;
    next = {
      state: failures >= p.downAfterFailures ? 'DOWN' : prev.state,
      sinceMs: prev.sinceMs,
      consecutiveFailures: failures,
      consecutiveSuccesses: 0,
      consecutiveDegraded: 0,
      consecutiveClean: 0,
      lowTrafficSinceMs,
      lastError: null,
    };
  } else {
    degradedNow = isDegradedRound(obs, p);
    const successes = prev.consecutiveSuccesses + 1;
    const degraded = degradedNow ? prev.consecutiveDegraded + 1 : 0;
    const clean = degradedNow ? 0 : prev.consecutiveClean + 1;
    let state: LinkStateName;
    if (prev.state === 'DOWN' && successes < p.upAfterSuccesses) state = 'DOWN';
    else if (degraded >= p.degradedRounds || (prev.state === 'DEGRADED' && clean < p.upAfterSuccesses)) state = 'DEGRADED';
    else if (lowTrafficSinceMs !== null && nowMs - lowTrafficSinceMs >= p.idleMinutes * 60_000) state = 'IDLE';
    else state = 'UP';
    next = {
      state,
      sinceMs: prev.sinceMs,
      consecutiveFailures: 0,
      consecutiveSuccesses: successes,
      consecutiveDegraded: degraded,
      consecutiveClean: clean,
      lowTrafficSinceMs,
      lastError: null,
    };
  }
  if (next.state === prev.state) {
    next.sinceMs = prev.sinceMs;
    return { next };
  }
  next.sinceMs = nowMs;
  return { next, transition: { from: prev.state, to: next.state, reason: transitionReason(prev, next, obs, p, degradedNow) } };
}

/** Why `step` moved from `prev` to `next`, in words for link_events and the log. */
function transitionReason(prev: TargetLinkState, next: TargetLinkState, obs: RoundObservation, p: StateMachineParams, degradedNow: boolean): string {
  if (obs.kind === 'error') return `cannot probe: ${obs.message}`;
  if (obs.lossPercent >= 100) return `${next.consecutiveFailures} consecutive rounds without a reply`;
  switch (next.state) {
    case 'DOWN':
      return `${next.consecutiveSuccesses} of ${p.upAfterSuccesses} answered rounds needed to leave DOWN`;
    case 'DEGRADED':
      return degradedNow
        ? `loss ${obs.lossPercent.toFixed(1)} % / rtt ${obs.rttAvgMs?.toFixed(2) ?? '-'} ms above thresholds for ${next.consecutiveDegraded} rounds`
        : `${next.consecutiveClean} of ${p.upAfterSuccesses} clean rounds needed to leave DEGRADED`;
    case 'IDLE':
      return `reseller traffic below ${p.idleFloorMbps} Mbps for ${p.idleMinutes} min`;
    default:
      return prev.state === 'DOWN' ? `${next.consecutiveSuccesses} consecutive answered rounds` : 'answering within thresholds';
  }
}

/**
 * A reseller's link state from its targets' states. Precedence, worst first:
 * DOWN > DEGRADED > UNKNOWN > IDLE > UP. Any target DOWN means the reseller
 * is DOWN (the mission's rule: the ISP must hear of a dead line even when the
 * reseller has a second one); UNKNOWN outranks IDLE/UP because a link we
 * cannot measure must not be reported healthy. No targets → UNKNOWN.
 */
export function resellerLinkState(states: Iterable<LinkStateName>): LinkStateName {
  const order: LinkStateName[] = ['DOWN', 'DEGRADED', 'UNKNOWN', 'IDLE', 'UP'];
  let worst = order.length;
  for (const s of states) worst = Math.min(worst, order.indexOf(s));
  return worst === order.length ? 'UNKNOWN' : (order[worst] as LinkStateName);
}
