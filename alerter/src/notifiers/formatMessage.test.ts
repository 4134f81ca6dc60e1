import { describe, expect, it } from 'vitest';
import { formatAlertMessage, formatDigest, formatTime, templateKeyFor, type AlertFacts } from './formatMessage';

const at = Date.UTC(2026, 10, 23, 3, 4, 5);
const base: AlertFacts = {
  event: 'raise',
  kind: 'UTILIZATION',
  severity: 'YELLOW',
  ispName: 'Acme ISP',
  subjectName: 'Reseller One',
  value: 85.04,
  threshold: 80,
  direction: 'in',
  committedMbps: 100,
  windowSeconds: 300,
  atMs: at,
};

describe('message formatting', () => {
  it('formats UTC at minute precision', () => {
    expect(formatTime(at)).toBe('2026-11-23 03:04 UTC');
  });

  it.each<[string, Partial<AlertFacts>, string, Record<string, string>, string]>([
    [
      'YELLOW raise',
      {},
      'utilization_yellow',
      { '1': 'Reseller One', '2': '85.0 %', '3': 'in', '4': '100 Mbps', '5': '2026-11-23 03:04 UTC', '6': 'Acme ISP' },
      '🟡 YELLOW: Reseller One at 85.0 % of committed 100 Mbps (inbound, 5 min average) since 2026-11-23 03:04 UTC. ISP: Acme ISP',
    ],
    [
      'RED escalation',
      { event: 'escalate', severity: 'RED', value: 105, direction: 'out' },
      'utilization_red',
      { '1': 'Reseller One', '2': '105.0 %', '3': 'out', '4': '100 Mbps', '5': '2026-11-23 03:04 UTC', '6': 'Acme ISP' },
      '🔴 RED (escalated): Reseller One at 105.0 % of committed 100 Mbps (outbound, 5 min average) since 2026-11-23 03:04 UTC. ISP: Acme ISP',
    ],
    [
      'resolution',
      { event: 'resolve', value: 50 },
      'utilization_resolved',
      { '1': 'Reseller One', '2': '50.0 %', '3': '2026-11-23 03:04 UTC', '4': 'Acme ISP' },
      '✅ RESOLVED: Reseller One utilization back to 50.0 % at 2026-11-23 03:04 UTC. ISP: Acme ISP',
    ],
    [
      'link down',
      { kind: 'LINK_DOWN', severity: 'RED', subjectName: 'Reseller One', target: '10.0.0.1' },
      'link_down',
      { '1': 'Reseller One', '2': '10.0.0.1', '3': '2026-11-23 03:04 UTC', '4': 'Acme ISP' },
      '🔴 LINK DOWN: Reseller One 10.0.0.1 unreachable since 2026-11-23 03:04 UTC. ISP: Acme ISP',
    ],
    [
      'no data says unknown, not zero',
      { kind: 'NO_DATA', value: 0, windowSeconds: 180 },
      'no_data',
      { '1': 'Reseller One', '2': '3', '3': '2026-11-23 03:04 UTC', '4': 'Acme ISP' },
      '⚠️ NO DATA: no samples for Reseller One in the last 3 min (since 2026-11-23 03:04 UTC); traffic is unknown, not zero. ISP: Acme ISP',
    ],
    [
      'uplink high',
      { kind: 'UPLINK', severity: 'RED', subjectName: 'edge-1', value: 960.04, threshold: 950 },
      'uplink_high',
      { '1': 'edge-1', '2': '960 Mbps', '3': '950 Mbps', '4': '2026-11-23 03:04 UTC', '5': 'Acme ISP' },
      '🔴 UPLINK HIGH: edge-1 carries 960 Mbps (threshold 950 Mbps) since 2026-11-23 03:04 UTC. ISP: Acme ISP',
    ],
  ])('%s', (_name, over, key, variables, body) => {
    const m = formatAlertMessage({ ...base, ...over });
    expect(m.templateKey).toBe(key);
    expect(m.variables).toEqual(variables);
    expect(m.body).toBe(body);
  });

  it.each<[Parameters<typeof templateKeyFor>, string]>([
    [['UTILIZATION', 'deescalate', 'YELLOW'], 'utilization_yellow'],
    [['LINK_FLAPPING', 'raise', 'YELLOW'], 'link_flapping'],
    [['LINK_FLAPPING', 'resolve', 'YELLOW'], 'link_flapping_resolved'],
    [['NO_DATA', 'resolve', 'YELLOW'], 'no_data_resolved'],
    [['UPLINK', 'resolve', 'RED'], 'uplink_resolved'],
  ])('templateKeyFor(%j) = %s', (args, expected) => {
    expect(templateKeyFor(...args)).toBe(expected);
  });

  it('digest variables hold no newline (WhatsApp template rule), the body lists each message', () => {
    const d = formatDigest(['a', 'b']);
    expect(d).toEqual({ templateKey: 'digest', variables: { '1': '2', '2': 'a | b' }, body: '2 Bandwatch alerts:\n• a\n• b' });
  });
});
