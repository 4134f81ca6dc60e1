import { errorKind, errorMessage, silentLogger, type Config, type Logger, type MatchKind, type VlanRuleConfig } from '@bandwatch/core';
import { bindRules, describeRule, type VlanRule } from './binding';
import { discoverInterfaces } from './discovery';
import { SnmpSessionPool } from './snmpClient';

/** Exit codes of `bandwatch discover`. */
export const DISCOVER_EXIT = { ok: 0, bindingErrors: 1, unknownDevice: 2, snmpFailed: 3 } as const;

/** A config VLAN rule as the (kind, value) pair stored in reseller_vlans. */
export function ruleFromConfig(v: VlanRuleConfig): { matchKind: MatchKind; matchValue: string } {
  if (v.if_name !== undefined) return { matchKind: 'if_name', matchValue: v.if_name };
  if (v.if_name_regex !== undefined) return { matchKind: 'if_name_regex', matchValue: v.if_name_regex };
  if (v.if_alias !== undefined) return { matchKind: 'if_alias', matchValue: v.if_alias };
  if (v.if_alias_regex !== undefined) return { matchKind: 'if_alias_regex', matchValue: v.if_alias_regex };
  return { matchKind: 'vlan_id', matchValue: String(v.vlan_id) };
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

/**
 * `bandwatch discover --device NAME`: walks one device from the config's
 * inventory (no database needed) and shows its interfaces and which reseller
 * rule binds to which, so operators can trust a rule before alerts depend on it.
 */
export async function runDiscover(config: Config, args: { device: string }, print: (line: string) => void, logger: Logger = silentLogger()): Promise<number> {
  const isp = config.inventory.isps.find((i) => i.devices.some((d) => d.name === args.device));
  const device = isp?.devices.find((d) => d.name === args.device);
  if (!isp || !device) {
    const known = config.inventory.isps.flatMap((i) => i.devices.map((d) => d.name));
    print(`unknown device "${args.device}"; the config declares: ${known.join(', ') || '(none)'}`);
    return DISCOVER_EXIT.unknownDevice;
  }
  // One GET and a walk: the fast path's second socket per device buys nothing here.
  const pool = new SnmpSessionPool({ ...config.snmp, fast_get: false }, { logger });
  try {
    const client = pool.clientFor({ name: device.name, host: device.host, port: device.port, authRef: device.auth, timeoutMs: device.timeout_ms, retries: device.retries });
    let result;
    try {
      result = await discoverInterfaces(client, config.snmp.max_repetitions);
    } catch (err) {
      print(`device ${device.name} (${device.host}:${device.port ?? config.snmp.port}): discovery failed [${errorKind(err)}]: ${errorMessage(err)}`);
      return DISCOVER_EXIT.snmpFailed;
    }
    const rules: Array<VlanRule & { reseller: string }> = isp.resellers.flatMap((r) =>
      r.vlans.filter((v) => v.device === device.name).map((v, i) => ({ id: `${r.slug}#${i}`, reseller: r.slug, ...ruleFromConfig(v) })),
    );
    const outcomes = bindRules(rules, result.interfaces);
    const boundBy = new Map<number, string[]>();
    outcomes.forEach((o, i) => {
      if (o.ok) boundBy.set(o.ifIndex, [...(boundBy.get(o.ifIndex) ?? []), (rules[i] as { reseller: string }).reseller]);
    });

    print(`device ${device.name} (${device.host}:${device.port ?? config.snmp.port}), ${result.interfaces.length} interfaces, ${result.hasIfXTable ? '64-bit counters (ifXTable)' : '32-bit counters only (no ifXTable)'}, sysUpTime ${(result.sysUpTimeTicks / 100).toFixed(0)} s`);
    print('');
    const oper = (s: number) => ({ 1: 'up', 2: 'down', 3: 'testing', 5: 'dormant', 6: 'notPresent', 7: 'lowerLayerDown' })[s] ?? (s === 0 ? '?' : String(s));
    for (const line of table([
      ['IFINDEX', 'IFNAME', 'IFALIAS', 'SPEED', 'OPER', 'BOUND TO'],
      ...result.interfaces.map((i) => [String(i.ifIndex), i.ifName, i.ifAlias, `${i.highSpeedMbps} Mbps`, oper(i.operStatus), (boundBy.get(i.ifIndex) ?? []).join(', ')]),
    ]))
      print(line);
    print('');
    if (rules.length === 0) {
      print('no reseller VLAN rule names this device');
      return DISCOVER_EXIT.ok;
    }
    const rows = outcomes.map((o, i) => {
      const r = rules[i] as VlanRule & { reseller: string };
      return o.ok ? [r.reseller, describeRule(r), `ifIndex ${o.ifIndex} ${o.ifName}`, 'ok'] : [r.reseller, describeRule(r), '-', `ERROR ${o.reason}: ${o.message}`];
    });
    for (const line of table([['RESELLER', 'RULE', 'BINDS TO', 'STATUS'], ...rows])) print(line);
    const errors = outcomes.filter((o) => !o.ok).length;
    print('');
    print(errors === 0 ? `all ${rules.length} rule(s) bind to exactly one interface` : `${errors} of ${rules.length} rule(s) do not bind to exactly one interface`);
    return errors === 0 ? DISCOVER_EXIT.ok : DISCOVER_EXIT.bindingErrors;
  } finally {
    pool.close();
  }
}
