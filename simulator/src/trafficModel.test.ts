import { describe, expect, it } from 'vitest';
import { octetsUntil, rateMbpsAt, type TrafficModel } from './trafficModel';

const MB = 1e6 / 8; // octets per megabit

const step: TrafficModel = { kind: 'step', repeat: true, steps: [{ mbps: 100, seconds: 10 }, { mbps: 300, seconds: 5 }] };
const once: TrafficModel = { kind: 'step', repeat: false, steps: [{ mbps: 100, seconds: 10 }, { mbps: 300, seconds: 5 }] };
const burst: TrafficModel = { kind: 'burst', base_mbps: 10, burst_mbps: 110, every_seconds: 60, burst_seconds: 6, offset_seconds: 0 };
const diurnal: TrafficModel = { kind: 'diurnal', min_mbps: 100, max_mbps: 300, period_seconds: 100, phase_seconds: 0 };

describe('traffic models', () => {
  it.each([
    ['constant', { kind: 'constant', mbps: 80 } as TrafficModel, 10, 800 * MB],
    ['step, inside the first step', step, 4, 400 * MB],
    ['step, across into the second', step, 12, (1000 + 600) * MB],
    ['step, two full cycles', step, 30, 2 * 2500 * MB],
    ['step without repeat holds the last rate', once, 25, (1000 + 1500 + 10 * 300) * MB],
    ['burst: one burst then base', burst, 60, (6 * 110 + 54 * 10) * MB],
    ['diurnal: a whole period averages the midpoint', diurnal, 100, 200 * 100 * MB],
    ['nothing before the epoch', step, -5, 0],
  ])('%s', (_label, model, t, octets) => {
    expect(octetsUntil(model, t)).toBeCloseTo(octets, 0);
  });

  it.each([
    [step, 9.9, 100],
    [step, 10, 300],
    [step, 15, 100],
    [burst, 3, 110],
    [burst, 7, 10],
    [diurnal, 25, 300],
    [diurnal, 75, 100],
  ])('rate of %j at %s s is %s Mbps', (model, t, mbps) => {
    expect(rateMbpsAt(model, t)).toBeCloseTo(mbps, 6);
  });

  it.each([step, once, burst, diurnal])('octets are the integral of the rate (%j)', (model) => {
    // Numeric check of the closed forms: a fine Riemann sum over 3 minutes.
    let sum = 0;
    const dt = 0.001;
    for (let t = 0; t < 180; t += dt) sum += rateMbpsAt(model, t + dt / 2) * dt;
    expect(octetsUntil(model, 180) / MB).toBeCloseTo(sum, 0);
  });
});
