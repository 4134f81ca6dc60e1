import type { LinkStateName } from '@bandwatch/core';
import { describe, expect, it } from 'vitest';
import type { ResellerRateSnapshot } from '../contracts';
import { initialState, resellerLinkState, step, type RoundObservation, type StateMachineParams, type TargetLinkState, type Transition } from './linkStateMachine';

const params: StateMachineParams = {
  downAfterFailures: 3,
  upAfterSuccesses: 2,
  degradedLossPercent: 20,
  degradedRttMs: 150,
  degradedRounds: 2,
  idleFloorMbps: 1,
  idleMinutes: 3,
};

// One letter per round: o = clean reply, x = no reply, d = 50 % loss, s = slow (400 ms), e = cannot probe.
const ROUND: Record<string, RoundObservation> = {
  o: { kind: 'measured', lossPercent: 0, rttAvgMs: 1 },
  x: { kind: 'measured', lossPercent: 100, rttAvgMs: null },
  d: { kind: 'measured', lossPercent: 50, rttAvgMs: 2 },
  s: { kind: 'measured', lossPercent: 0, rttAvgMs: 400 },
  e: { kind: 'error', message: 'bad target' },
};
const CODE: Record<string, LinkStateName> = { '?': 'UNKNOWN', U: 'UP', G: 'DEGRADED', D: 'DOWN', I: 'IDLE' };

function run(rounds: string, p = params, rate?: (i: number, nowMs: number) => ResellerRateSnapshot | undefined) {
  let s: TargetLinkState = initialState(0);
  const states: string[] = [];
  const transitions: Transition[] = [];
  [...rounds].forEach((c, i) => {
    const nowMs = (i + 1) * 60_000;
    const r = step(s, ROUND[c] as RoundObservation, p, nowMs, rate?.(i, nowMs));
    s = r.next;
    if (r.transition) transitions.push(r.transition);
    states.push(Object.entries(CODE).find(([, v]) => v === s.state)?.[0] ?? '!');
  });
  return { states: states.join(''), transitions, last: s };
}

describe('link state machine', () => {
  it.each([
    ['first reply makes a target UP', 'ooo', 'UUU'],
    ['UNKNOWN until a result, DOWN on exactly the third failed round', 'xxx', '??D'],
    ['UP target goes DOWN on the third consecutive failure, back UP after two answered rounds', 'oxxxoo', 'UUUDDU'],
    ['flapping below the failure count never goes DOWN', 'oxxoxxoxxo', 'UUUUUUUUUU'],
    ['slow recovery: every failure restarts the count of good rounds', 'xxxoxoxoo', '??DDDDDDU'],
    ['recovery needs consecutive rounds, more when configured', 'xxxooo', '??DDUU'],
    ['loss above threshold for K rounds → DEGRADED, clears after R clean rounds', 'oddoo', 'UUGGU'],
    ['one lossy round is not DEGRADED', 'odoo', 'UUUU'],
    ['slow RTT above threshold for K rounds → DEGRADED', 'osso', 'UUGG'],
    ['DEGRADED link that stops answering goes DOWN after three failures', 'oddxxx', 'UUGGGD'],
    ['DOWN link that comes back lossy recovers into DEGRADED', 'xxxddd', '??DDGG'],
    ['a target that cannot be probed is UNKNOWN, and starts over when it can', 'oeeoo', 'U??UU'],
    ['an error resets the failure count', 'xxexx', '?????'],
  ])('%s (%s)', (_name, rounds, expected) => {
    expect(run(rounds).states).toBe(expected);
  });

  it('emits exactly one transition per change, with before and after', () => {
    const { transitions } = run('oxxxxoo');
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['UNKNOWN>UP', 'UP>DOWN', 'DOWN>UP']);
    expect(transitions[1]?.reason).toMatch(/3 consecutive rounds without a reply/);
  });

  it('keeps `since` while the state holds and moves it on a transition', () => {
    const { last } = run('oooo');
    expect(last.sinceMs).toBe(60_000);
    expect(run('oxxx').last.sinceMs).toBe(240_000);
  });

  it.each([
    [1, 'xoo', 'DDU'],
    [5, 'xxxxo', '????U'],
    [5, 'xxxxxo', '????DD'],
  ])('down_after_failures = %i: %s → %s', (down, rounds, expected) => {
    expect(run(rounds, { ...params, downAfterFailures: down }).states).toBe(expected);
  });

  const quiet = (resellerId = 'r1') => (_i: number, nowMs: number): ResellerRateSnapshot => ({ resellerId, inBps: 200_000, outBps: 10_000, wallMs: nowMs });
  const busy = (_i: number, nowMs: number): ResellerRateSnapshot => ({ resellerId: 'r1', inBps: 5_000_000, outBps: 0, wallMs: nowMs });

  it.each([
    ['traffic below the floor for idle.minutes → IDLE', 'ooooo', quiet(), 'UUUII'],
    ['no rate known → never IDLE', 'oooooo', () => undefined, 'UUUUUU'],
    ['traffic above the floor → UP', 'oooooo', busy, 'UUUUUU'],
    ['a rate that stops updating is no rate once older than the idle window', 'oooooooo', (_i: number) => ({ resellerId: 'r1', inBps: 0, outBps: 0, wallMs: 60_000 }), 'UUUIUUUU'],
    ['traffic returning ends IDLE at once', 'oooooo', (i: number, now: number) => (i < 5 ? quiet()(i, now) : busy(i, now)), 'UUUIIU'],
    ['IDLE link that stops answering goes DOWN', 'oooooxxx', quiet(), 'UUUIIIID'],
    ['DEGRADED outranks IDLE', 'ooooodd', quiet(), 'UUUIIIG'],
  ])('%s', (_name, rounds, rate, expected) => {
    expect(run(rounds, params, rate).states).toBe(expected);
  });

  it.each([
    [['UP', 'DOWN'], 'DOWN'],
    [['DEGRADED', 'UP', 'IDLE'], 'DEGRADED'],
    [['UNKNOWN', 'UP'], 'UNKNOWN'],
    [['IDLE', 'UP'], 'IDLE'],
    [['IDLE', 'IDLE'], 'IDLE'],
    [['UP', 'UP'], 'UP'],
    [['UNKNOWN', 'DEGRADED'], 'DEGRADED'],
    [[], 'UNKNOWN'],
  ] as Array<[LinkStateName[], LinkStateName]>)('reseller with targets %j is %s', (states, expected) => {
    expect(resellerLinkState(states)).toBe(expected);
  });
});
