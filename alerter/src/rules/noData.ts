import { NONE, type OpenIncident, type RuleAction } from './types';

/**
 * NO_DATA: `samples` counts points in the last `intervals` poll intervals.
 * Zero samples raises; any sample (even a zero rate) resolves: zero traffic
 * is data, a missing sample is not.
 *
 * `observedSeconds` is how long the subject could have produced samples (since
 * the alerter started or first saw it). Until it covers the window plus one
 * interval (the collector's first poll gives no rate), absence proves nothing,
 * so a restart or a newly added reseller does not page anyone.
 */
export function evaluateNoData(samples: number, intervals: number, open: OpenIncident | null, observedSeconds = Infinity, pollSeconds = 0): RuleAction {
  const armed = observedSeconds >= (intervals + 1) * pollSeconds;
  if (samples === 0) {
    if (!armed) return NONE;
    if (open === null) return { type: 'fire', severity: 'YELLOW', value: 0, threshold: intervals, notify: true };
    return NONE;
  }
  if (open !== null) return { type: 'resolve', value: samples, notify: true };
  return NONE;
}
