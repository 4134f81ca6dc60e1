import type { MatchKind } from '@bandwatch/core';

/*
 * Binding, pure: a reseller's VLAN rule → exactly one interface of a device.
 * No match and several matches are both errors with the candidates listed;
 * the collector never guesses which interface a customer's traffic is on.
 */

export interface IfEntry {
  ifIndex: number;
  /** ifName (ifXTable); agents without ifXTable report ifDescr here. */
  ifName: string;
  ifAlias: string;
  ifDescr: string;
}

export interface VlanRule {
  /** reseller_vlans.id (or a config-derived key in `discover`). */
  id: string;
  matchKind: MatchKind;
  /** The rule's value as stored: a name, a regex source, or a VLAN id in decimal. */
  matchValue: string;
}

export type BindingOutcome =
  | { ruleId: string; ok: true; ifIndex: number; ifName: string }
  | {
      ruleId: string;
      ok: false;
      reason: 'no_match' | 'ambiguous' | 'invalid_rule';
      message: string;
      candidates: Array<{ ifIndex: number; ifName: string }>;
    };

// `<parent>.<id>` sub-interfaces: ether1.10, Gi0/0/1.100, xe-0/0/0.100,
// bond0.30, Port-channel1.200. For stacked tags (ether1.10.20) the innermost
// (customer) tag is the last one, which is what a reseller is sold.
const DOT_SUFFIX = /^.*[^.]\.(\d{1,4})$/;
// SVI-style names: vlan10, Vlan10, VLAN 10, vlan-10, vlan_10, Vl10 (Cisco short form), Vlan-interface10 (H3C/Huawei).
const VLAN_IF = /^(?:vlan|vl)[-_. ]?(?:interface)?(\d{1,4})$/i;

/** The VLAN id an interface name carries, or null when it carries none. */
export function extractVlanId(name: string): number | null {
  const trimmed = name.trim();
  const m = DOT_SUFFIX.exec(trimmed) ?? VLAN_IF.exec(trimmed);
  if (!m) return null;
  const id = Number(m[1]);
  return id >= 1 && id <= 4094 ? id : null;
}

function matcher(rule: VlanRule): ((e: IfEntry) => boolean) | string {
  switch (rule.matchKind) {
    case 'if_name':
      return (e) => e.ifName === rule.matchValue;
    case 'if_alias':
      return (e) => e.ifAlias === rule.matchValue;
    case 'if_name_regex':
    case 'if_alias_regex': {
      let re: RegExp;
      try {
        re = new RegExp(rule.matchValue);
      } catch (err) {
        return `invalid regular expression ${JSON.stringify(rule.matchValue)}: ${(err as Error).message}`;
      }
      return rule.matchKind === 'if_name_regex' ? (e) => re.test(e.ifName) : (e) => re.test(e.ifAlias);
    }
    case 'vlan_id': {
      const id = Number(rule.matchValue);
      if (!Number.isInteger(id) || id < 1 || id > 4094) return `vlan_id must be 1..4094, got ${JSON.stringify(rule.matchValue)}`;
      return (e) => extractVlanId(e.ifName) === id;
    }
  }
}

export function describeRule(rule: Pick<VlanRule, 'matchKind' | 'matchValue'>): string {
  return `${rule.matchKind} ${rule.matchKind === 'vlan_id' ? rule.matchValue : JSON.stringify(rule.matchValue)}`;
}

export function bindRule(rule: VlanRule, interfaces: readonly IfEntry[]): BindingOutcome {
  const m = matcher(rule);
  if (typeof m === 'string') return invalid(rule, m);
  return outcome(rule, interfaces.filter(m));
}

function invalid(rule: VlanRule, message: string): BindingOutcome {
  return { ruleId: rule.id, ok: false, reason: 'invalid_rule', message, candidates: [] };
}

function outcome(rule: VlanRule, hits: readonly IfEntry[]): BindingOutcome {
  if (hits.length === 1) {
    const hit = hits[0] as IfEntry;
    return { ruleId: rule.id, ok: true, ifIndex: hit.ifIndex, ifName: hit.ifName };
  }
  const candidates = hits.map((h) => ({ ifIndex: h.ifIndex, ifName: h.ifName })).sort((a, b) => a.ifIndex - b.ifIndex);
  if (hits.length === 0) return { ruleId: rule.id, ok: false, reason: 'no_match', message: `${describeRule(rule)} matches no interface`, candidates };
  return {
    ruleId: rule.id,
    ok: false,
    reason: 'ambiguous',
    message: `${describeRule(rule)} matches ${hits.length} interfaces (${candidates.map((c) => `${c.ifName}#${c.ifIndex}`).join(', ')}); make the rule match exactly one`,
    candidates,
  };
}

function group<K>(interfaces: readonly IfEntry[], key: (e: IfEntry) => K | null): Map<K, IfEntry[]> {
  const m = new Map<K, IfEntry[]>();
  for (const e of interfaces) {
    const k = key(e);
    if (k === null) continue;
    const list = m.get(k);
    if (list) list.push(e);
    else m.set(k, [e]);
  }
  return m;
}

/**
 * Binds every rule of a device. Exact kinds (name, alias, VLAN id) use
 * indexes built once, so 10,000 rules on a 10,000-interface router bind in
 * milliseconds instead of 10^8 comparisons; regex kinds scan.
 */
export function bindRules(rules: readonly VlanRule[], interfaces: readonly IfEntry[]): BindingOutcome[] {
  let byName: Map<string, IfEntry[]> | undefined;
  let byAlias: Map<string, IfEntry[]> | undefined;
  let byVlan: Map<number, IfEntry[]> | undefined;
  return rules.map((rule) => {
    switch (rule.matchKind) {
      case 'if_name':
        byName ??= group(interfaces, (e) => e.ifName);
        return outcome(rule, byName.get(rule.matchValue) ?? []);
      case 'if_alias':
        byAlias ??= group(interfaces, (e) => e.ifAlias);
        return outcome(rule, byAlias.get(rule.matchValue) ?? []);
      case 'vlan_id': {
        const m = matcher(rule);
        if (typeof m === 'string') return invalid(rule, m);
        byVlan ??= group(interfaces, (e) => extractVlanId(e.ifName));
        return outcome(rule, byVlan.get(Number(rule.matchValue)) ?? []);
      }
      default:
        return bindRule(rule, interfaces);
    }
  });
}
