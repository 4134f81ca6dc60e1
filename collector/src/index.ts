/*
 * @bandwatch/collector public API. The CLI runs `runCollector`; the alerter
 * and API reuse the InfluxQL builder and query client; the pieces are
 * exported for tests, benchmarks and the demo.
 */
export { runCollector, deviceShard, type RunCollectorOptions } from './main';
export * from './contracts';

export { RateEngine, computeRate, type RateOptions } from './rates/rateEngine';
export { ResellerAggregator, deviceTotal, type ResellerAggregate, type ResellerSpec, type ResellerGapReason, type DeviceTotal } from './rates/resellerAggregator';
export { RatePipeline, vlanTag, type PipelineOutput, type PipelineBinding, type PipelineReseller, type PipelineRule, type PipelineDevice } from './rates/ratePipeline';

export { InfluxSeriesWriter, createSeriesWriter, type InfluxWriterOptions, type WriterHooks, type WriterState } from './influx/influxWriter';
export { DiskSpool, type DiskSpoolOptions, type DropReport, type SpoolRecord } from './influx/diskSpool';
export { toLine, escapeKey, escapeMeasurement } from './influx/lineProtocol';
export { InfluxQueryClient, createInfluxQueryClient, type InfluxQueryOptions, type InfluxSeries, type InfluxStatementResult } from './influx/influxQuery';
export { influxql, ident, raw, duration, timeMs, anyOf, quoteIdentifier, quoteString, escapeRegex, type InfluxQLFragment, type InfluxQLValue } from './influx/influxql';

export { CollectorMetrics, type VlanLabels, type ResellerLabels, type BindingProblem } from './metrics/collectorMetrics';
export { createCollectorApp, listen, type RunningHttp } from './http/collectorHttp';
export { evaluateHealth, type HealthInput, type HealthReport } from './http/health';
export { UsageRollup, type UsageRow } from './rollup/usageRollup';
export { upsertUsage, readUsageBucket } from './rollup/usageStore';

export * from './snmp/index';
export * from './ping/index';
