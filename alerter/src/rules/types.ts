import type { AlertKind, Severity } from '@bandwatch/core';

/** What a rule knows about the open incident for its subject (none = no open row). */
export interface OpenIncident {
  status: 'pending' | 'firing';
  severity: Severity;
  /** When the raise condition first held (ms), for `for` durations. */
  pendingSinceMs: number | null;
}

/**
 * What a rule decides for one subject. `notify` is false when the change is
 * recorded but must not page anyone (pending, cancel, flap-suppressed links).
 */
export type RuleAction =
  | { type: 'none' }
  | { type: 'pending'; severity: Severity; value: number; threshold: number }
  | { type: 'fire'; severity: Severity; value: number; threshold: number; notify: boolean }
  | { type: 'escalate' | 'deescalate'; from: Severity; severity: Severity; value: number; threshold: number }
  | { type: 'resolve'; value: number | null; notify: boolean }
  | { type: 'cancel'; value: number | null };

export interface Subject {
  kind: AlertKind;
  dedupKey: string;
  ispId: string;
  resellerId: string | null;
  deviceId: string | null;
}

export const NONE: RuleAction = { type: 'none' };
