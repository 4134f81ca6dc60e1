import { evaluateLevels } from './levels';
import { utilizationLevels, type UtilizationThresholds } from './thresholds';
import type { OpenIncident, RuleAction } from './types';

/** Window averages for one reseller; null when the window holds no samples. */
export interface ResellerWindow {
  meanInBps: number | null;
  meanOutBps: number | null;
  samples: number;
}

export interface UtilizationReading {
  percent: number;
  direction: 'in' | 'out';
}

/** The busier direction as a percentage of the committed rate, or null without samples. */
export function utilizationPercent(window: ResellerWindow, committedMbps: number): UtilizationReading | null {
  if (window.samples === 0 || (window.meanInBps === null && window.meanOutBps === null)) return null;
  const inPct = ((window.meanInBps ?? 0) / (committedMbps * 1e6)) * 100;
  const outPct = ((window.meanOutBps ?? 0) / (committedMbps * 1e6)) * 100;
  return outPct > inPct ? { percent: outPct, direction: 'out' } : { percent: inPct, direction: 'in' };
}

export function evaluateUtilization(
  reading: UtilizationReading | null,
  thresholds: UtilizationThresholds,
  open: OpenIncident | null,
  nowMs: number,
): RuleAction {
  return evaluateLevels(utilizationLevels(thresholds), reading?.percent ?? null, open, nowMs, thresholds.forSeconds * 1000);
}
