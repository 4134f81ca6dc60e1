import { readInventory, errorMessage, type Config, type Device, type Isp, type Logger, type Pool, type Reseller } from '@bandwatch/core';
import {
  evaluateFlapRecovery,
  evaluateNoData,
  evaluateUplink,
  evaluateUtilization,
  isSilenced,
  uplinkMbps,
  uplinkThresholds,
  utilizationPercent,
  utilizationThresholds,
  type RuleAction,
  type Silence,
  type Subject,
} from '../rules/index';
import { windowMeanQuery } from '../queries/influxql';
import { firstRow, type InfluxReader, type InfluxSeries } from '../influx/influxReader';
import type { AlertFacts } from '../notifiers/formatMessage';
import { applyRule, loadOpenAlerts, toOpenIncident, type AppliedChange, type OpenAlertRow } from './alertStore';
import { recipientsFor } from './recipients';
import type { LinkProcessor } from './linkProcessor';

export interface EvaluatorDeps {
  pool: Pool;
  influx: InfluxReader;
  config: Config;
  logger: Logger;
  channel: string;
  links: LinkProcessor;
  onChange: (change: AppliedChange) => void;
}

interface WindowStats {
  meanInBps: number | null;
  meanOutBps: number | null;
  samples: number;
}

const EMPTY: WindowStats = { meanInBps: null, meanOutBps: null, samples: 0 };

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Series keyed by one tag value; a reseller is matched by slug or id so either tagging works. */
function statsByTag(series: InfluxSeries[], tag: string): Map<string, WindowStats> {
  const out = new Map<string, WindowStats>();
  for (const s of series) {
    const key = s.tags[tag];
    if (key === undefined) continue;
    const row = firstRow(s);
    out.set(key, { meanInBps: num(row.mean_in_bps), meanOutBps: num(row.mean_out_bps), samples: num(row.samples) ?? 0 });
  }
  return out;
}

export async function loadActiveSilences(pool: Pool, nowMs: number): Promise<Silence[]> {
  const res = await pool.query(
    `select isp_id, reseller_id, device_id, extract(epoch from starts_at) * 1000 as s, extract(epoch from ends_at) * 1000 as e
       from public.silences where ends_at > to_timestamp($1) and starts_at <= to_timestamp($1)`,
    [nowMs / 1000],
  );
  return res.rows.map((r) => ({ ispId: r.isp_id, resellerId: r.reseller_id, deviceId: r.device_id, startsAtMs: Number(r.s), endsAtMs: Number(r.e) }));
}

/**
 * One evaluation pass over InfluxDB windows: utilization and NO_DATA per
 * reseller, uplink aggregate and NO_DATA per device, plus the time-based
 * link checks (flap recovery, reconciliation with link_state).
 */
export class Evaluator {
  readonly #d: EvaluatorDeps;
  /** When this process first saw each subject: NO_DATA is armed only after a full window of it. */
  readonly #firstSeenMs = new Map<string, number>();

  constructor(deps: EvaluatorDeps) {
    this.#d = deps;
  }

  #observedSeconds(subjectId: string, nowMs: number): number {
    const first = this.#firstSeenMs.get(subjectId);
    if (first === undefined) {
      this.#firstSeenMs.set(subjectId, nowMs);
      return 0;
    }
    return (nowMs - first) / 1000;
  }

  get pollSeconds(): number {
    return this.#d.config.collector.poll_interval_seconds;
  }

  async tick(nowMs: number): Promise<AppliedChange[]> {
    const { pool, config } = this.#d;
    const a = config.alerting;
    const inventory = await readInventory(pool);
    const [silences, open] = await Promise.all([loadActiveSilences(pool, nowMs), loadOpenAlerts(pool)]);
    const noDataSeconds = a.no_data.intervals * this.pollSeconds;

    const [resellerWindow, resellerRecent, uplinkWindow, uplinkRecent] = await Promise.all([
      this.#query('reseller_rate', ['isp', 'reseller'], nowMs - a.utilization.window_seconds * 1000, nowMs),
      this.#query('reseller_rate', ['isp', 'reseller'], nowMs - noDataSeconds * 1000, nowMs),
      this.#query('uplink_rate', ['isp', 'device'], nowMs - a.uplink.window_seconds * 1000, nowMs),
      this.#query('uplink_rate', ['isp', 'device'], nowMs - noDataSeconds * 1000, nowMs),
    ]);
    const rWin = statsByTag(resellerWindow, 'reseller');
    const rRecent = statsByTag(resellerRecent, 'reseller');
    const uWin = statsByTag(uplinkWindow, 'device');
    const uRecent = statsByTag(uplinkRecent, 'device');

    const ispById = new Map(inventory.isps.map((i) => [i.id, i]));
    const monitoredResellers = new Set(inventory.vlans.map((v) => v.resellerId));
    const monitoredDevices = new Set(inventory.vlans.map((v) => v.deviceId));
    const changes: AppliedChange[] = [];

    for (const r of inventory.resellers) {
      const isp = ispById.get(r.ispId);
      if (!isp || !monitoredResellers.has(r.id)) continue;
      const recent = rRecent.get(r.slug) ?? rRecent.get(r.id) ?? EMPTY;
      const window = rWin.get(r.slug) ?? rWin.get(r.id) ?? EMPTY;
      await this.#guard(`reseller ${r.slug}`, changes, async () => {
        const noDataKey = `NO_DATA:reseller:${r.id}`;
        const noDataChange = await this.#apply(open, silences, nowMs, isp, r, null, 'NO_DATA', noDataKey, (o) => evaluateNoData(recent.samples, a.no_data.intervals, o, this.#observedSeconds(r.id, nowMs), this.pollSeconds), (action, event) => ({
          ...this.#baseFacts(isp, r.name, event, action, nowMs, 'NO_DATA'),
          windowSeconds: noDataSeconds,
        }));
        const t = utilizationThresholds(a, isp.thresholds, r.thresholds);
        const reading = utilizationPercent(window, r.committedMbps);
        const utilChange = await this.#apply(open, silences, nowMs, isp, r, null, 'UTILIZATION', `UTILIZATION:${r.id}`, (o) => evaluateUtilization(reading, t, o, nowMs), (action, event) => ({
          ...this.#baseFacts(isp, r.name, event, action, nowMs, 'UTILIZATION'),
          direction: reading?.direction ?? 'in',
          committedMbps: r.committedMbps,
          windowSeconds: t.windowSeconds,
        }));
        return [noDataChange, utilChange];
      });
    }

    for (const d of inventory.devices) {
      const isp = ispById.get(d.ispId);
      if (!isp || !d.enabled || !monitoredDevices.has(d.id)) continue;
      const recent = uRecent.get(d.name) ?? uRecent.get(d.id) ?? EMPTY;
      const window = uWin.get(d.name) ?? uWin.get(d.id) ?? EMPTY;
      await this.#guard(`device ${d.name}`, changes, async () => {
        const noData = await this.#apply(open, silences, nowMs, isp, null, d, 'NO_DATA', `NO_DATA:device:${d.id}`, (o) => evaluateNoData(recent.samples, a.no_data.intervals, o, this.#observedSeconds(d.id, nowMs), this.pollSeconds), (action, event) => ({
          ...this.#baseFacts(isp, d.name, event, action, nowMs, 'NO_DATA'),
          windowSeconds: noDataSeconds,
        }));
        const t = uplinkThresholds(a, isp.thresholds);
        const mbps = uplinkMbps(window.meanInBps, window.meanOutBps, window.samples);
        const uplink = await this.#apply(open, silences, nowMs, isp, null, d, 'UPLINK', `UPLINK:${d.id}`, (o) => evaluateUplink(mbps, t, o, nowMs), (action, event) => ({
          ...this.#baseFacts(isp, d.name, event, action, nowMs, 'UPLINK'),
          windowSeconds: t.windowSeconds,
        }));
        return [noData, uplink];
      });
    }

    await this.#guard('link checks', changes, async () => [
      ...(await this.#d.links.reconcile(nowMs)),
      ...(await this.#flapRecovery(open, nowMs)),
    ]);
    return changes;
  }

  async #flapRecovery(open: Map<string, OpenAlertRow>, nowMs: number): Promise<Array<AppliedChange | null>> {
    const cfg = { flapCount: this.#d.config.alerting.link.flap_count, flapWindowSeconds: this.#d.config.alerting.link.flap_window_seconds };
    const out: Array<AppliedChange | null> = [];
    for (const row of open.values()) {
      if (row.kind !== 'LINK_FLAPPING') continue;
      out.push(await this.#d.links.recoverFlapping(row, nowMs, (last) => evaluateFlapRecovery(last, nowMs, cfg)));
    }
    return out;
  }

  #baseFacts(isp: Isp, subjectName: string, event: AlertFacts['event'], action: RuleAction, nowMs: number, kind: AlertFacts['kind']): AlertFacts {
    return {
      event,
      kind,
      severity: 'severity' in action ? action.severity : 'YELLOW',
      ispName: isp.name,
      subjectName,
      value: 'value' in action ? action.value : null,
      threshold: 'threshold' in action ? action.threshold : null,
      atMs: nowMs,
    };
  }

  async #apply(
    open: Map<string, OpenAlertRow>,
    silences: Silence[],
    nowMs: number,
    isp: Isp,
    reseller: Reseller | null,
    device: Device | null,
    kind: Subject['kind'],
    dedupKey: string,
    rule: (o: ReturnType<typeof toOpenIncident>) => RuleAction,
    facts: (action: RuleAction, event: AlertFacts['event']) => AlertFacts,
  ): Promise<AppliedChange | null> {
    // Cheap pre-check on the snapshot; the store re-evaluates on the locked row.
    if (rule(toOpenIncident(open.get(dedupKey))).type === 'none') return null;
    const subject: Subject = { kind, dedupKey, ispId: isp.id, resellerId: reseller?.id ?? null, deviceId: device?.id ?? null };
    return applyRule(
      this.#d.pool,
      {
        subject,
        recipients: recipientsFor(isp, reseller),
        silenced: isSilenced(silences, subject, nowMs),
        channel: this.#d.channel,
        nowMs,
        summary: `${kind} ${reseller?.name ?? device?.name ?? ''}`.trim(),
        facts,
      },
      (o) => rule(o),
    );
  }

  async #guard(what: string, changes: AppliedChange[], fn: () => Promise<Array<AppliedChange | null>>): Promise<void> {
    try {
      for (const c of await fn()) {
        if (c) {
          changes.push(c);
          this.#d.onChange(c);
        }
      }
    } catch (err) {
      // One failing subject is logged and the others carry on (telegraf's agent rule).
      this.#d.logger.error({ err: errorMessage(err) }, `evaluate ${what} failed`);
    }
  }

  async #query(measurement: string, groupBy: string[], fromMs: number, toMs: number): Promise<InfluxSeries[]> {
    return this.#d.influx.query(windowMeanQuery({ measurement, fields: ['in_bps', 'out_bps'], groupBy, fromMs, toMs }));
  }
}
