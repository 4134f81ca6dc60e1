import type { Severity } from '@bandwatch/core';
import { NONE, type OpenIncident, type RuleAction } from './types';

/** One severity band: raised at `raise`, held until the value drops below `clear` (hysteresis). */
export interface Level {
  severity: Severity;
  raise: number;
  clear: number;
}

const RANK: Record<Severity, number> = { INFO: 0, YELLOW: 1, RED: 2, CRITICAL: 3 };

/**
 * The band a value belongs to given the band it is in now. A band is kept
 * while the value stays at or above its clear threshold, so a rate hovering
 * at the raise threshold cannot flap.
 */
export function targetLevel(levels: readonly Level[], value: number, current: Severity | null): Level | null {
  let best: Level | null = null;
  for (const level of levels) {
    const held = current !== null && RANK[current] >= RANK[level.severity] && value >= level.clear;
    if (value >= level.raise || held) {
      if (best === null || RANK[level.severity] > RANK[best.severity]) best = level;
    }
  }
  return best;
}

/**
 * Threshold state machine shared by utilization and uplink rules.
 * `value` null means no samples in the window: the rule holds its state
 * (missing data is never zero traffic; NO_DATA reports it separately).
 * `forMs` delays the first raise (pending → firing); severity changes of a
 * firing incident are immediate because the value is already a window average.
 */
export function evaluateLevels(
  levels: readonly Level[],
  value: number | null,
  open: OpenIncident | null,
  nowMs: number,
  forMs: number,
): RuleAction {
  if (value === null) return NONE;
  const current = open?.status === 'firing' ? open.severity : null;
  const target = targetLevel(levels, value, current);
  if (open === null) {
    if (target === null) return NONE;
    if (forMs > 0) return { type: 'pending', severity: target.severity, value, threshold: target.raise };
    return { type: 'fire', severity: target.severity, value, threshold: target.raise, notify: true };
  }
  if (open.status === 'pending') {
    if (target === null) return { type: 'cancel', value };
    const since = open.pendingSinceMs ?? nowMs;
    if (nowMs - since >= forMs) return { type: 'fire', severity: target.severity, value, threshold: target.raise, notify: true };
    return NONE;
  }
  if (target === null) return { type: 'resolve', value, notify: true };
  if (target.severity === open.severity) return NONE;
  const type = RANK[target.severity] > RANK[open.severity] ? 'escalate' : 'deescalate';
  return { type, from: open.severity, severity: target.severity, value, threshold: target.raise };
}
