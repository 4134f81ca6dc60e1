/*
 * Traffic models, pure. A model gives the cumulative number of octets sent
 * from its epoch (t = 0) to t seconds, in closed form, so the agent computes a
 * counter at read time instead of ticking 10,000 interfaces every second.
 */

export type TrafficModel =
  | { kind: 'constant'; mbps: number }
  | { kind: 'diurnal'; min_mbps: number; max_mbps: number; period_seconds: number; phase_seconds: number }
  | { kind: 'step'; steps: Array<{ mbps: number; seconds: number }>; repeat: boolean }
  | { kind: 'burst'; base_mbps: number; burst_mbps: number; every_seconds: number; burst_seconds: number; offset_seconds: number };

const OCTETS_PER_MBIT = 1e6 / 8;

/** Rate in Mbps at t seconds after the model's epoch. */
export function rateMbpsAt(model: TrafficModel, t: number): number {
  switch (model.kind) {
    case 'constant':
      return model.mbps;
    case 'diurnal': {
      const mid = (model.min_mbps + model.max_mbps) / 2;
      const amp = (model.max_mbps - model.min_mbps) / 2;
      return mid + amp * Math.sin((2 * Math.PI * (t + model.phase_seconds)) / model.period_seconds);
    }
    case 'step':
      return stepAt(model.steps, model.repeat, t);
    case 'burst':
      return stepAt(burstSteps(model), true, t + model.offset_seconds);
  }
}

/** Octets sent between the epoch and t seconds (t >= 0). */
export function octetsUntil(model: TrafficModel, t: number): number {
  if (t <= 0) return 0;
  switch (model.kind) {
    case 'constant':
      return model.mbps * t * OCTETS_PER_MBIT;
    case 'diurnal': {
      const mid = (model.min_mbps + model.max_mbps) / 2;
      const amp = (model.max_mbps - model.min_mbps) / 2;
      const w = (2 * Math.PI) / model.period_seconds;
      // ∫ mid + amp·sin(w(s+φ)) ds from 0 to t
      const mbits = mid * t - (amp / w) * (Math.cos(w * (t + model.phase_seconds)) - Math.cos(w * model.phase_seconds));
      return mbits * OCTETS_PER_MBIT;
    }
    case 'step':
      return stepIntegral(model.steps, model.repeat, t) * OCTETS_PER_MBIT;
    case 'burst': {
      const steps = burstSteps(model);
      return (stepIntegral(steps, true, t + model.offset_seconds) - stepIntegral(steps, true, model.offset_seconds)) * OCTETS_PER_MBIT;
    }
  }
}

function burstSteps(m: Extract<TrafficModel, { kind: 'burst' }>): Array<{ mbps: number; seconds: number }> {
  return [
    { mbps: m.burst_mbps, seconds: m.burst_seconds },
    { mbps: m.base_mbps, seconds: Math.max(0, m.every_seconds - m.burst_seconds) },
  ];
}

function stepAt(steps: Array<{ mbps: number; seconds: number }>, repeat: boolean, t: number): number {
  const cycle = steps.reduce((s, x) => s + x.seconds, 0);
  let pos = repeat && cycle > 0 ? t % cycle : t;
  for (const s of steps) {
    if (pos < s.seconds) return s.mbps;
    pos -= s.seconds;
  }
  return steps[steps.length - 1]?.mbps ?? 0;
}

/** Megabits sent from 0 to t under a step schedule. */
function stepIntegral(steps: Array<{ mbps: number; seconds: number }>, repeat: boolean, t: number): number {
  const cycle = steps.reduce((s, x) => s + x.seconds, 0);
  const cycleMbits = steps.reduce((s, x) => s + x.mbps * x.seconds, 0);
  let total = 0;
  let pos = t;
  if (repeat && cycle > 0) {
    const full = Math.floor(t / cycle);
    total += full * cycleMbits;
    pos = t - full * cycle;
  }
  for (const s of steps) {
    if (pos <= s.seconds) return total + s.mbps * pos;
    total += s.mbps * s.seconds;
    pos -= s.seconds;
  }
  // A non-repeating schedule holds its last rate.
  return total + (steps[steps.length - 1]?.mbps ?? 0) * pos;
}
