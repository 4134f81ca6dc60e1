import { describe, expect, it } from 'vitest';
import { evaluateHealth, type HealthInput } from './health';

const NOW = 1_000_000;
const spool = { bytes: 0, points: 0, maxBytes: 1000, failing: false, lastError: undefined };

function input(over: Partial<HealthInput>): HealthInput {
  return { nowWallMs: NOW, startedWallMs: 0, pollIntervalSeconds: 10, devices: [], spool, ...over };
}

describe('evaluateHealth', () => {
  it.each([
    ['no devices, empty spool', input({}), 'ok', []],
    ['fresh device', input({ devices: [{ device: 'a', lastSuccessWallMs: NOW - 5000 }] }), 'ok', [false]],
    [
      'one of two devices stale is reported but healthy (a dead router is not a collector fault)',
      input({ devices: [{ device: 'a', lastSuccessWallMs: NOW - 5000 }, { device: 'b', lastSuccessWallMs: NOW - 31_000 }] }),
      'ok',
      [false, true],
    ],
    ['every device stale', input({ devices: [{ device: 'a', lastSuccessWallMs: NOW - 31_000 }] }), 'unhealthy', [true]],
    ['never polled but still in the start grace', input({ startedWallMs: NOW - 10_000, devices: [{ device: 'a', lastSuccessWallMs: undefined }] }), 'ok', [false]],
    ['never polled after the grace', input({ devices: [{ device: 'a', lastSuccessWallMs: undefined }] }), 'unhealthy', [true]],
    ['spool 89 % full while InfluxDB is down', input({ spool: { ...spool, bytes: 890, failing: true } }), 'ok', []],
    ['spool 90 % full', input({ spool: { ...spool, bytes: 900, failing: true } }), 'unhealthy', []],
  ] as const)('%s → %s', (_name, given, status, stale) => {
    const report = evaluateHealth(given);
    expect(report.status).toBe(status);
    expect(report.devices.map((d) => d.stale)).toEqual(stale);
    expect(report.reasons.length > 0).toBe(status === 'unhealthy');
  });
});
