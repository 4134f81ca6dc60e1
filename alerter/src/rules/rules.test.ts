import { describe, expect, it } from 'vitest';
import { makeConfigSchema } from '@bandwatch/core';
import {
  evaluateFlapRecovery,
  evaluateLinkEvent,
  evaluateNoData,
  evaluateUplink,
  evaluateUtilization,
  isSilenced,
  isDownTransition,
  uplinkMbps,
  uplinkThresholds,
  utilizationPercent,
  utilizationThresholds,
  type OpenIncident,
  type RuleAction,
  type Silence,
} from './index';

const alerting = makeConfigSchema({}).shape.alerting.parse({});
const defaults = utilizationThresholds(alerting, {}, {});

/** Feeds values through the rule, applying each action to the open incident as the store would. */
function run(values: Array<number | null>, t = defaults, stepMs = 60_000): { actions: string[]; final: OpenIncident | null } {
  let open: OpenIncident | null = null;
  const actions: string[] = [];
  values.forEach((v, i) => {
    const now = i * stepMs;
    const a = evaluateUtilization(v === null ? null : { percent: v, direction: 'in' }, t, open, now);
    actions.push(describeAction(a));
    open = apply(open, a, now);
  });
  return { actions, final: open };
}

function describeAction(a: RuleAction): string {
  switch (a.type) {
    case 'none':
      return '-';
    case 'pending':
      return `pending:${a.severity}`;
    case 'fire':
      return `fire:${a.severity}`;
    case 'escalate':
    case 'deescalate':
      return `${a.type}:${a.from}>${a.severity}`;
    case 'resolve':
      return 'resolve';
    case 'cancel':
      return 'cancel';
  }
}

function apply(open: OpenIncident | null, a: RuleAction, now: number): OpenIncident | null {
  switch (a.type) {
    case 'none':
      return open;
    case 'pending':
      return { status: 'pending', severity: a.severity, pendingSinceMs: now };
    case 'fire':
    case 'escalate':
    case 'deescalate':
      return { status: 'firing', severity: a.severity, pendingSinceMs: open?.pendingSinceMs ?? now };
    case 'resolve':
    case 'cancel':
      return null;
  }
}

describe('utilization rule', () => {
  it.each<[string, Array<number | null>, string[]]>([
    ['below yellow stays quiet', [10, 50, 79.9], ['-', '-', '-']],
    ['raises YELLOW at exactly 80 %', [80], ['fire:YELLOW']],
    ['hovering at the threshold does not flap (clear at 75 %)', [80, 79, 80.5, 76, 79.9, 80], ['fire:YELLOW', '-', '-', '-', '-', '-']],
    ['clears below the clear threshold', [85, 74.9], ['fire:YELLOW', 'resolve']],
    ['escalates YELLOW → RED in the same incident', [85, 105], ['fire:YELLOW', 'escalate:YELLOW>RED']],
    ['RED holds above its clear threshold (95 %)', [105, 99, 95], ['fire:RED', '-', '-']],
    ['de-escalates RED → YELLOW, then resolves', [85, 105, 94, 50], ['fire:YELLOW', 'escalate:YELLOW>RED', 'deescalate:RED>YELLOW', 'resolve']],
    ['jumps straight to RED', [120], ['fire:RED']],
    ['RED to below every clear resolves at once', [120, 10], ['fire:RED', 'resolve']],
    ['no samples hold the state (never read as zero)', [85, null, null, 85], ['fire:YELLOW', '-', '-', '-']],
    ['no samples never resolve RED', [105, null], ['fire:RED', '-']],
  ])('%s', (_name, values, expected) => {
    expect(run(values).actions).toEqual(expected);
  });

  it.each<[string, Array<number | null>, string[]]>([
    ['waits for the for-duration before firing', [85, 85, 85], ['pending:YELLOW', '-', 'fire:YELLOW']],
    ['a short spike is cancelled, never sent', [85, 50], ['pending:YELLOW', 'cancel']],
    ['fires with the severity reached when the duration ends', [85, 105, 105], ['pending:YELLOW', '-', 'fire:RED']],
  ])('for_seconds=120: %s', (_name, values, expected) => {
    expect(run(values, { ...defaults, forSeconds: 120 }).actions).toEqual(expected);
  });

  it.each<[string, Parameters<typeof utilizationPercent>[0], number, ReturnType<typeof utilizationPercent>]>([
    ['in direction', { meanInBps: 85e6, meanOutBps: 10e6, samples: 5 }, 100, { percent: 85, direction: 'in' }],
    ['out direction wins when busier', { meanInBps: 10e6, meanOutBps: 105e6, samples: 5 }, 100, { percent: 105, direction: 'out' }],
    ['zero traffic is 0 %, not missing', { meanInBps: 0, meanOutBps: 0, samples: 5 }, 100, { percent: 0, direction: 'in' }],
    ['no samples is null', { meanInBps: null, meanOutBps: null, samples: 0 }, 100, null],
  ])('utilizationPercent: %s', (_name, w, committed, expected) => {
    expect(utilizationPercent(w, committed)).toEqual(expected);
  });

  it.each<[string, object, object, { yellowPercent: number; redPercent: number; clearYellowPercent: number; clearRedPercent: number }]>([
    ['config defaults', {}, {}, { yellowPercent: 80, redPercent: 100, clearYellowPercent: 75, clearRedPercent: 95 }],
    ['ISP override keeps the hysteresis gap', { yellow_percent: 70 }, {}, { yellowPercent: 70, redPercent: 100, clearYellowPercent: 65, clearRedPercent: 95 }],
    ['reseller override beats ISP', { yellow_percent: 70, red_percent: 90 }, { red_percent: 120 }, { yellowPercent: 70, redPercent: 120, clearYellowPercent: 65, clearRedPercent: 115 }],
  ])('thresholds: %s', (_name, isp, reseller, expected) => {
    expect(utilizationThresholds(alerting, isp, reseller)).toMatchObject(expected);
  });
});

describe('uplink rule', () => {
  const t = uplinkThresholds(alerting, {});
  it.each<[string, number | null, OpenIncident | null, string]>([
    ['below 950 Mbps is quiet', 900, null, '-'],
    ['at 950 Mbps raises', 950, null, 'fire:RED'],
    ['holds above 900 Mbps', 920, { status: 'firing', severity: 'RED', pendingSinceMs: 0 }, '-'],
    ['clears below 900 Mbps', 899, { status: 'firing', severity: 'RED', pendingSinceMs: 0 }, 'resolve'],
    ['missing aggregate holds', null, { status: 'firing', severity: 'RED', pendingSinceMs: 0 }, '-'],
  ])('%s', (_name, mbps, open, expected) => {
    expect(describeAction(evaluateUplink(mbps, t, open, 0))).toBe(expected);
  });

  it('ISP override moves threshold and clear together', () => {
    expect(uplinkThresholds(alerting, { uplink_threshold_mbps: 500 })).toMatchObject({ thresholdMbps: 500, clearMbps: 500 * (900 / 950) });
  });

  it.each<[number | null, number | null, number, number | null]>([
    [960e6, 100e6, 3, 960],
    [100e6, 951e6, 3, 951],
    [null, null, 0, null],
  ])('uplinkMbps(%s, %s, %s) = %s', (i, o, n, expected) => {
    expect(uplinkMbps(i, o, n)).toBe(expected);
  });
});

describe('NO_DATA rule', () => {
  const firing: OpenIncident = { status: 'firing', severity: 'YELLOW', pendingSinceMs: 0 };
  it.each<[string, number, OpenIncident | null, string]>([
    ['no samples for K intervals raises', 0, null, 'fire:YELLOW'],
    ['still no samples: nothing new', 0, firing, '-'],
    ['a zero-traffic sample is data: resolves', 1, firing, 'resolve'],
    ['samples and no incident: quiet', 3, null, '-'],
  ])('%s', (_name, samples, open, expected) => {
    expect(describeAction(evaluateNoData(samples, 3, open))).toBe(expected);
  });

  it.each<[string, number, number, OpenIncident | null, string]>([
    ['just started (observed 5 s of a 3 × 10 s window): not armed', 0, 5, null, '-'],
    ['observed exactly the window but not the first-sample interval: not armed', 0, 30, null, '-'],
    ['observed window + one interval: armed', 0, 40, null, 'fire:YELLOW'],
    ['data arriving before armed still resolves an open incident', 2, 5, firing, 'resolve'],
  ])('%s', (_name, samples, observed, open, expected) => {
    expect(describeAction(evaluateNoData(samples, 3, open, observed, 10))).toBe(expected);
  });
});

describe('link rule', () => {
  const cfg = { flapCount: 4, flapWindowSeconds: 900 };
  const now = 1_000_000;
  it.each<[string, 'DOWN' | 'UP' | 'DEGRADED' | 'UNKNOWN', { linkDown: boolean; flapping: boolean }, number[], string, boolean | null, string]>([
    ['DOWN raises LINK_DOWN', 'DOWN', { linkDown: false, flapping: false }, [now], 'fire:RED', true, '-'],
    ['UP resolves LINK_DOWN', 'UP', { linkDown: true, flapping: false }, [now - 1000, now], 'resolve', true, '-'],
    ['DEGRADED still answers: resolves LINK_DOWN', 'DEGRADED', { linkDown: true, flapping: false }, [now], 'resolve', true, '-'],
    ['UNKNOWN does not resolve', 'UNKNOWN', { linkDown: true, flapping: false }, [], '-', null, '-'],
    ['4 transitions in window is not flapping yet', 'DOWN', { linkDown: false, flapping: false }, [now - 3000, now - 2000, now - 1000, now], 'fire:RED', true, '-'],
    ['5th transition raises LINK_FLAPPING, LINK_DOWN recorded silently', 'DOWN', { linkDown: false, flapping: false }, [now - 4000, now - 3000, now - 2000, now - 1000, now], 'fire:RED', false, 'fire:YELLOW'],
    ['while flapping, UP resolves silently and no second flap incident', 'UP', { linkDown: true, flapping: true }, [now - 1000, now], 'resolve', false, '-'],
    ['old transitions outside the window do not count', 'DOWN', { linkDown: false, flapping: false }, [now - 2_000_000, now - 1_900_000, now - 1_800_000, now - 1_700_000, now], 'fire:RED', true, '-'],
  ])('%s', (_name, to, open, transitions, linkDown, notify, flapping) => {
    const d = evaluateLinkEvent(to, open, transitions, now, cfg);
    expect(describeAction(d.linkDown)).toBe(linkDown);
    if (notify !== null) expect('notify' in d.linkDown && d.linkDown.notify).toBe(notify);
    expect(describeAction(d.flapping)).toBe(flapping);
  });

  it.each<[number | null, string]>([
    [now - 100_000, '-'],
    [now - 900_000, 'resolve'],
    [null, 'resolve'],
  ])('flap recovery with last transition %s → %s', (last, expected) => {
    expect(describeAction(evaluateFlapRecovery(last, now, cfg))).toBe(expected);
  });

  it.each<[string, string, boolean]>([
    ['UP', 'DOWN', true],
    ['DOWN', 'UP', true],
    ['UP', 'DEGRADED', false],
    ['UNKNOWN', 'DOWN', false],
  ])('%s → %s counts as a down transition: %s', (from, to, expected) => {
    expect(isDownTransition(from as never, to as never)).toBe(expected);
  });
});

describe('maintenance windows', () => {
  const silences: Silence[] = [
    { ispId: 'isp1', resellerId: 'r1', deviceId: null, startsAtMs: 100, endsAtMs: 200 },
    { ispId: 'isp2', resellerId: null, deviceId: null, startsAtMs: 0, endsAtMs: 1000 },
    { ispId: 'isp1', resellerId: null, deviceId: 'd1', startsAtMs: 0, endsAtMs: 1000 },
  ];
  it.each<[string, { ispId: string; resellerId: string | null; deviceId: string | null }, number, boolean]>([
    ['reseller window covers its alerts', { ispId: 'isp1', resellerId: 'r1', deviceId: null }, 150, true],
    ['window ended (end exclusive)', { ispId: 'isp1', resellerId: 'r1', deviceId: null }, 200, false],
    ['window not started', { ispId: 'isp1', resellerId: 'r1', deviceId: null }, 99, false],
    ['another reseller is not silenced', { ispId: 'isp1', resellerId: 'r2', deviceId: null }, 150, false],
    ['ISP-wide window silences every reseller', { ispId: 'isp2', resellerId: 'rX', deviceId: null }, 5, true],
    ['device window silences that device', { ispId: 'isp1', resellerId: null, deviceId: 'd1' }, 5, true],
    ['device window does not silence a reseller alert', { ispId: 'isp1', resellerId: 'r3', deviceId: null }, 5, false],
  ])('%s', (_name, subject, now, expected) => {
    expect(isSilenced(silences, subject, now)).toBe(expected);
  });
});
