import { describe, expect, it } from 'vitest';
import { bindRule, bindRules, extractVlanId, type IfEntry, type VlanRule } from './binding';

describe('extractVlanId', () => {
  it.each([
    ['ether1.10', 10],
    ['ether1.20', 20],
    ['Gi0/0/1.100', 100],
    ['GigabitEthernet0/0/1.4094', 4094],
    ['xe-0/0/0.200', 200],
    ['bond0.30', 30],
    ['Port-channel1.7', 7],
    ['ether1.10.20', 20],
    ['vlan10', 10],
    ['Vlan20', 20],
    ['VLAN 30', 30],
    ['vlan-40', 40],
    ['Vl50', 50],
    ['ether1', null],
    ['Gi0/0/1', null],
    ['ether1.0', null],
    ['ether1.4095', null],
    ['ether1.12345', null],
    ['vlan', null],
    ['lo', null],
    ['.10', null],
    ['vlanfoo10', null],
  ])('%s → %s', (name, expected) => {
    expect(extractVlanId(name)).toBe(expected);
  });
});

const router: IfEntry[] = [
  { ifIndex: 1, ifName: 'ether1', ifAlias: 'UPLINK', ifDescr: 'ether1' },
  { ifIndex: 2, ifName: 'ether1.10', ifAlias: 'acme-net VLAN 10', ifDescr: 'ether1.10' },
  { ifIndex: 3, ifName: 'ether1.20', ifAlias: 'bluesky', ifDescr: 'ether1.20' },
  { ifIndex: 4, ifName: 'ether1.30', ifAlias: 'CEDAR primary', ifDescr: 'ether1.30' },
  { ifIndex: 5, ifName: 'ether1.31', ifAlias: 'CEDAR backup', ifDescr: 'ether1.31' },
  { ifIndex: 6, ifName: 'ether2.20', ifAlias: 'other 20', ifDescr: 'ether2.20' },
  { ifIndex: 7, ifName: 'Gi0/0/1.100', ifAlias: 'delta', ifDescr: 'Gi0/0/1.100' },
  { ifIndex: 8, ifName: 'vlan300', ifAlias: '', ifDescr: 'vlan300' },
];

const rule = (matchKind: VlanRule['matchKind'], matchValue: string): VlanRule => ({ id: 'r1', matchKind, matchValue });

describe('bindRule', () => {
  it.each([
    ['if_name exact', rule('if_name', 'ether1.10'), 2],
    ['if_name is not a prefix match', rule('if_name', 'ether1.3'), null],
    ['if_name_regex anchored', rule('if_name_regex', '^Gi0/0/1\\.100$'), 7],
    ['if_alias exact', rule('if_alias', 'bluesky'), 3],
    ['if_alias_regex one hit', rule('if_alias_regex', '^CEDAR primary'), 4],
    ['vlan_id from dotted name', rule('vlan_id', '10'), 2],
    ['vlan_id from Cisco sub-interface', rule('vlan_id', '100'), 7],
    ['vlan_id from SVI name', rule('vlan_id', '300'), 8],
  ])('%s binds', (_label, r, ifIndex) => {
    const out = bindRule(r, router);
    if (ifIndex === null) {
      expect(out).toMatchObject({ ok: false, reason: 'no_match' });
    } else {
      expect(out).toEqual({ ruleId: 'r1', ok: true, ifIndex, ifName: router.find((e) => e.ifIndex === ifIndex)?.ifName });
    }
  });

  it.each([
    ['no interface matches', rule('if_name', 'ether9'), 'no_match', []],
    ['vlan_id 20 on two parents', rule('vlan_id', '20'), 'ambiguous', [3, 6]],
    ['alias regex hits two', rule('if_alias_regex', '^CEDAR'), 'ambiguous', [4, 5]],
    ['name regex hits everything', rule('if_name_regex', '.*'), 'ambiguous', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['broken regex', rule('if_name_regex', '(['), 'invalid_rule', []],
    ['vlan id out of range', rule('vlan_id', '5000'), 'invalid_rule', []],
    ['vlan id not a number', rule('vlan_id', 'ten'), 'invalid_rule', []],
  ])('%s is an error, never a guess', (_label, r, reason, candidates) => {
    const out = bindRule(r, router);
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.reason).toBe(reason);
      expect(out.candidates.map((c) => c.ifIndex)).toEqual(candidates);
      expect(out.message.length).toBeGreaterThan(0);
    }
  });

  it('follows the name when ifIndexes are renumbered', () => {
    const renumbered = router.map((e) => ({ ...e, ifIndex: e.ifIndex + 100 }));
    expect(bindRule(rule('if_name', 'ether1.10'), router)).toMatchObject({ ok: true, ifIndex: 2 });
    expect(bindRule(rule('if_name', 'ether1.10'), renumbered)).toMatchObject({ ok: true, ifIndex: 102, ifName: 'ether1.10' });
  });
});

describe('bindRules', () => {
  const rules: VlanRule[] = [
    { id: 'a', matchKind: 'if_name', matchValue: 'ether1.10' },
    { id: 'b', matchKind: 'vlan_id', matchValue: '20' },
    { id: 'c', matchKind: 'if_alias', matchValue: 'bluesky' },
    { id: 'd', matchKind: 'if_alias_regex', matchValue: '^CEDAR' },
    { id: 'e', matchKind: 'vlan_id', matchValue: '99999' },
    { id: 'f', matchKind: 'vlan_id', matchValue: '300' },
  ];

  it('gives the same outcome as bindRule for every rule (indexed and scanned kinds alike)', () => {
    expect(bindRules(rules, router)).toEqual(rules.map((r) => bindRule(r, router)));
  });

  it('binds 10,000 name rules on a 10,000-interface router, one each', () => {
    const big: IfEntry[] = Array.from({ length: 10000 }, (_v, i) => ({ ifIndex: i + 1, ifName: `ether2.${i + 1}`, ifAlias: '', ifDescr: '' }));
    const out = bindRules(
      big.map((e) => ({ id: e.ifName, matchKind: 'if_name', matchValue: e.ifName })),
      big,
    );
    expect(out.every((o, i) => o.ok && o.ifIndex === i + 1)).toBe(true);
  });
});
