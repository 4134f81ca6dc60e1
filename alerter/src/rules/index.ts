export * from './types';
export * from './levels';
export * from './thresholds';
export * from './utilization';
export * from './uplink';
export * from './noData';
export * from './link';
export * from './silences';
