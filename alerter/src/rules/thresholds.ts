import type { Config, Thresholds } from '@bandwatch/core';
import type { Level } from './levels';

export type AlertingConfig = Config['alerting'];

export interface UtilizationThresholds {
  yellowPercent: number;
  redPercent: number;
  clearYellowPercent: number;
  clearRedPercent: number;
  windowSeconds: number;
  forSeconds: number;
}

export interface UplinkThresholds {
  thresholdMbps: number;
  clearMbps: number;
  windowSeconds: number;
}

/**
 * Effective utilization thresholds: config defaults, then the ISP's
 * overrides, then the reseller's. An override moves the raise threshold and
 * keeps the configured hysteresis gap, so clear always stays below raise.
 */
export function utilizationThresholds(cfg: AlertingConfig, isp: Thresholds | null | undefined, reseller: Thresholds | null | undefined): UtilizationThresholds {
  const u = cfg.utilization;
  const yellow = reseller?.yellow_percent ?? isp?.yellow_percent ?? u.yellow_percent;
  const red = reseller?.red_percent ?? isp?.red_percent ?? u.red_percent;
  return {
    yellowPercent: yellow,
    redPercent: red,
    clearYellowPercent: yellow - (u.yellow_percent - u.clear_yellow_percent),
    clearRedPercent: red - (u.red_percent - u.clear_red_percent),
    windowSeconds: u.window_seconds,
    forSeconds: u.for_seconds,
  };
}

export function utilizationLevels(t: UtilizationThresholds): Level[] {
  return [
    { severity: 'YELLOW', raise: t.yellowPercent, clear: t.clearYellowPercent },
    { severity: 'RED', raise: t.redPercent, clear: t.clearRedPercent },
  ];
}

/** Uplink threshold: reseller-level overrides do not apply (an uplink is the ISP's). */
export function uplinkThresholds(cfg: AlertingConfig, isp: Thresholds | null | undefined): UplinkThresholds {
  const u = cfg.uplink;
  const threshold = isp?.uplink_threshold_mbps ?? u.threshold_mbps;
  return { thresholdMbps: threshold, clearMbps: threshold * (u.clear_mbps / u.threshold_mbps), windowSeconds: u.window_seconds };
}

export function uplinkLevels(t: UplinkThresholds): Level[] {
  return [{ severity: 'RED', raise: t.thresholdMbps, clear: t.clearMbps }];
}
