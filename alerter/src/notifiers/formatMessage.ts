import type { AlertKind, Severity } from '@bandwatch/core';

/*
 * Pure message formatting. Each template key has numbered variables in a
 * fixed order (Twilio ContentVariables are {"1": …, "2": …}), and a free-form
 * body with the same facts for channels without templates.
 */

export const TEMPLATE_KEYS = [
  'utilization_yellow',
  'utilization_red',
  'utilization_resolved',
  'uplink_high',
  'uplink_resolved',
  'link_down',
  'link_up',
  'link_flapping',
  'link_flapping_resolved',
  'no_data',
  'no_data_resolved',
  'digest',
] as const;
export type TemplateKey = (typeof TEMPLATE_KEYS)[number];

export function isTemplateKey(key: string): key is TemplateKey {
  return (TEMPLATE_KEYS as readonly string[]).includes(key);
}

export type AlertEventType = 'raise' | 'escalate' | 'deescalate' | 'resolve';

export interface AlertFacts {
  event: AlertEventType;
  kind: AlertKind;
  severity: Severity;
  ispName: string;
  /** Reseller name, or device name for device alerts. */
  subjectName: string;
  /** Link target (IP or label) for link alerts. */
  target?: string;
  value: number | null;
  threshold: number | null;
  direction?: 'in' | 'out';
  committedMbps?: number;
  windowSeconds?: number;
  atMs: number;
}

export interface FormattedMessage {
  templateKey: TemplateKey;
  variables: Record<string, string>;
  body: string;
}

export function templateKeyFor(kind: AlertKind, event: AlertEventType, severity: Severity): TemplateKey {
  const resolved = event === 'resolve';
  switch (kind) {
    case 'UTILIZATION':
      return resolved ? 'utilization_resolved' : severity === 'RED' ? 'utilization_red' : 'utilization_yellow';
    case 'UPLINK':
      return resolved ? 'uplink_resolved' : 'uplink_high';
    case 'LINK_DOWN':
      return resolved ? 'link_up' : 'link_down';
    case 'LINK_FLAPPING':
      return resolved ? 'link_flapping_resolved' : 'link_flapping';
    case 'NO_DATA':
      return resolved ? 'no_data_resolved' : 'no_data';
  }
}

/** UTC, minute precision: what an operator reads on a phone at 3 a.m. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${v.toFixed(1)} %`;
}

function mbps(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : `${Number(v.toFixed(1))} Mbps`;
}

function vars(...values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((v, i) => [String(i + 1), v]));
}

const SEVERITY_MARK: Record<Severity, string> = { INFO: 'ℹ️', YELLOW: '🟡', RED: '🔴', CRITICAL: '🛑' };

export function formatAlertMessage(f: AlertFacts): FormattedMessage {
  const templateKey = templateKeyFor(f.kind, f.event, f.severity);
  const at = formatTime(f.atMs);
  const mark = f.event === 'resolve' ? '✅' : SEVERITY_MARK[f.severity];
  const change = f.event === 'escalate' ? ' (escalated)' : f.event === 'deescalate' ? ' (de-escalated)' : '';
  const target = f.target ?? 'link';
  switch (templateKey) {
    case 'utilization_yellow':
    case 'utilization_red': {
      const v = vars(f.subjectName, pct(f.value), f.direction ?? 'in', mbps(f.committedMbps), at, f.ispName);
      const body = `${mark} ${f.severity}${change}: ${f.subjectName} at ${v['2']} of committed ${v['4']} (${v['3']}bound, ${Math.round((f.windowSeconds ?? 0) / 60)} min average) since ${at}. ISP: ${f.ispName}`;
      return { templateKey, variables: v, body };
    }
    case 'utilization_resolved': {
      const v = vars(f.subjectName, pct(f.value), at, f.ispName);
      return { templateKey, variables: v, body: `${mark} RESOLVED: ${f.subjectName} utilization back to ${v['2']} at ${at}. ISP: ${f.ispName}` };
    }
    case 'uplink_high': {
      const v = vars(f.subjectName, mbps(f.value), mbps(f.threshold), at, f.ispName);
      return { templateKey, variables: v, body: `${mark} UPLINK HIGH: ${f.subjectName} carries ${v['2']} (threshold ${v['3']}) since ${at}. ISP: ${f.ispName}` };
    }
    case 'uplink_resolved': {
      const v = vars(f.subjectName, mbps(f.value), at, f.ispName);
      return { templateKey, variables: v, body: `${mark} RESOLVED: uplink ${f.subjectName} back to ${v['2']} at ${at}. ISP: ${f.ispName}` };
    }
    case 'link_down': {
      const v = vars(f.subjectName, target, at, f.ispName);
      return { templateKey, variables: v, body: `${mark} LINK DOWN: ${f.subjectName} ${target} unreachable since ${at}. ISP: ${f.ispName}` };
    }
    case 'link_up': {
      const v = vars(f.subjectName, target, at, f.ispName);
      return { templateKey, variables: v, body: `${mark} LINK UP: ${f.subjectName} ${target} reachable again at ${at}. ISP: ${f.ispName}` };
    }
    case 'link_flapping': {
      const minutes = String(Math.round((f.windowSeconds ?? 0) / 60));
      const v = vars(f.subjectName, target, String(f.value ?? 0), minutes, at, f.ispName);
      return {
        templateKey,
        variables: v,
        body: `${mark} LINK FLAPPING: ${f.subjectName} ${target} changed state ${v['3']} times in ${minutes} min (at ${at}); further up/down messages are held until it is stable. ISP: ${f.ispName}`,
      };
    }
    case 'link_flapping_resolved': {
      const v = vars(f.subjectName, target, at, f.ispName);
      return { templateKey, variables: v, body: `${mark} STABLE: ${f.subjectName} ${target} stopped flapping at ${at}. ISP: ${f.ispName}` };
    }
    case 'no_data': {
      const v = vars(f.subjectName, String(Math.round((f.windowSeconds ?? 0) / 60)), at, f.ispName);
      return { templateKey, variables: v, body: `⚠️ NO DATA: no samples for ${f.subjectName} in the last ${v['2']} min (since ${at}); traffic is unknown, not zero. ISP: ${f.ispName}` };
    }
    case 'no_data_resolved': {
      const v = vars(f.subjectName, at, f.ispName);
      return { templateKey, variables: v, body: `${mark} DATA BACK: samples for ${f.subjectName} arrive again at ${at}. ISP: ${f.ispName}` };
    }
    case 'digest':
      throw new Error('digest messages are built by formatDigest');
  }
}

/**
 * One message standing for several that piled up for a recipient. Template
 * variables may not hold newlines, so the summary joins with " | ".
 */
export function formatDigest(bodies: readonly string[]): FormattedMessage {
  const count = String(bodies.length);
  return {
    templateKey: 'digest',
    variables: vars(count, bodies.join(' | ')),
    body: `${count} Bandwatch alerts:\n${bodies.map((b) => `• ${b}`).join('\n')}`,
  };
}
