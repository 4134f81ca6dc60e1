import type { LinkStateName } from '@bandwatch/core';
import { NONE, type RuleAction } from './types';

export interface LinkRuleConfig {
  flapCount: number;
  flapWindowSeconds: number;
}

export interface LinkDecision {
  linkDown: RuleAction;
  flapping: RuleAction;
}

/** A transition counts toward flapping when it enters or leaves DOWN. */
export function isDownTransition(from: LinkStateName, to: LinkStateName): boolean {
  return (from === 'DOWN') !== (to === 'DOWN') && from !== 'UNKNOWN';
}

/**
 * One link transition. `transitionsMs` are the times of down-transitions of
 * this target inside the flap window, including this one. More than
 * `flapCount` of them raise one LINK_FLAPPING incident; while it is open,
 * LINK_DOWN changes are still recorded but page nobody.
 */
export function evaluateLinkEvent(
  to: LinkStateName,
  open: { linkDown: boolean; flapping: boolean },
  transitionsMs: readonly number[],
  nowMs: number,
  cfg: LinkRuleConfig,
): LinkDecision {
  const inWindow = transitionsMs.filter((t) => nowMs - t <= cfg.flapWindowSeconds * 1000).length;
  const flappingNow = open.flapping || inWindow > cfg.flapCount;
  const flapping: RuleAction =
    !open.flapping && inWindow > cfg.flapCount
      ? { type: 'fire', severity: 'YELLOW', value: inWindow, threshold: cfg.flapCount, notify: true }
      : NONE;
  let linkDown: RuleAction = NONE;
  if (to === 'DOWN' && !open.linkDown) linkDown = { type: 'fire', severity: 'RED', value: 0, threshold: 0, notify: !flappingNow };
  else if (to !== 'DOWN' && to !== 'UNKNOWN' && open.linkDown) linkDown = { type: 'resolve', value: 1, notify: !flappingNow };
  return { linkDown, flapping };
}

/** A flapping incident ends once the link has held one state for a whole flap window. */
export function evaluateFlapRecovery(lastTransitionMs: number | null, nowMs: number, cfg: LinkRuleConfig): RuleAction {
  if (lastTransitionMs === null || nowMs - lastTransitionMs >= cfg.flapWindowSeconds * 1000) return { type: 'resolve', value: 0, notify: true };
  return NONE;
}
