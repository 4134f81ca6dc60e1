export * from './config/index';
export * from './domain';
export * from './errors';
export * from './log';
export * from './db/pool';
export * from './db/migrate';
export * from './db/inventory';
export * from './db/inventoryApply';
