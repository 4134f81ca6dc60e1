import { KindedError } from '@bandwatch/core';
import type { IfEntry } from './binding';
import { OIDS } from './oids';
import { toNumber, toText, type SnmpClient, type SnmpVarbind } from './snmpClient';

export interface DiscoveredInterface extends IfEntry {
  /** ifHighSpeed (Mbps); from ifSpeed / 10^6 on agents without ifXTable. */
  highSpeedMbps: number;
  operStatus: number;
}

export interface DiscoveryResult {
  interfaces: DiscoveredInterface[];
  /** false: no ifXTable, so no 64-bit counters: poll the 32-bit ifIn/OutOctets. */
  hasIfXTable: boolean;
  sysUpTimeTicks: number;
}

/**
 * Walks the interface names and status (never the counters) with GETBULK,
 * several columns per PDU. Used at start, every discovery interval and after
 * a reboot or renumbering; the poll cycle itself never walks.
 */
export async function discoverInterfaces(client: SnmpClient, maxRepetitions: number): Promise<DiscoveryResult> {
  const [up] = await client.get([OIDS.sysUpTime0]);
  if (!up || up.problem) throw new KindedError('agent', `device ${client.deviceName}: sysUpTime.0 is missing (${up?.problem ?? 'no varbind'})`);
  const sysUpTimeTicks = toNumber(up.value);
  const cols = await client.walkColumns([OIDS.ifDescr, OIDS.ifOperStatus, OIDS.ifName, OIDS.ifAlias, OIDS.ifHighSpeed], maxRepetitions);
  const descr = cols.get(OIDS.ifDescr) as Map<string, SnmpVarbind>;
  const oper = cols.get(OIDS.ifOperStatus) as Map<string, SnmpVarbind>;
  const name = cols.get(OIDS.ifName) as Map<string, SnmpVarbind>;
  const alias = cols.get(OIDS.ifAlias) as Map<string, SnmpVarbind>;
  const highSpeed = cols.get(OIDS.ifHighSpeed) as Map<string, SnmpVarbind>;
  const hasIfXTable = name.size > 0;
  let speed = new Map<string, SnmpVarbind>();
  if (!hasIfXTable) speed = (await client.walkColumns([OIDS.ifSpeed], maxRepetitions)).get(OIDS.ifSpeed) as Map<string, SnmpVarbind>;

  const indexes = new Set([...descr.keys(), ...name.keys()]);
  const interfaces: DiscoveredInterface[] = [];
  for (const idx of indexes) {
    const ifIndex = Number(idx);
    if (!Number.isInteger(ifIndex) || ifIndex < 1) continue;
    const ifDescr = toText(descr.get(idx)?.value);
    const ifName = hasIfXTable ? toText(name.get(idx)?.value) || ifDescr : ifDescr;
    const hs = highSpeed.get(idx);
    const sp = speed.get(idx);
    interfaces.push({
      ifIndex,
      ifName,
      ifDescr,
      ifAlias: toText(alias.get(idx)?.value),
      highSpeedMbps: hs && !hs.problem ? toNumber(hs.value) : sp && !sp.problem ? Math.round(toNumber(sp.value) / 1e6) : 0,
      operStatus: oper.get(idx) && !oper.get(idx)?.problem ? toNumber(oper.get(idx)?.value) : 0,
    });
  }
  interfaces.sort((a, b) => a.ifIndex - b.ifIndex);
  return { interfaces, hasIfXTable, sysUpTimeTicks };
}
