export * from './schema';
export * from './secret';
export * from './load';
