import { evaluateLevels } from './levels';
import { uplinkLevels, type UplinkThresholds } from './thresholds';
import type { OpenIncident, RuleAction } from './types';

/** Busier direction of a device's aggregate (uplink_rate) in Mbps, or null without samples. */
export function uplinkMbps(meanInBps: number | null, meanOutBps: number | null, samples: number): number | null {
  if (samples === 0 || (meanInBps === null && meanOutBps === null)) return null;
  return Math.max(meanInBps ?? 0, meanOutBps ?? 0) / 1e6;
}

export function evaluateUplink(mbps: number | null, thresholds: UplinkThresholds, open: OpenIncident | null, nowMs: number): RuleAction {
  return evaluateLevels(uplinkLevels(thresholds), mbps, open, nowMs, 0);
}
