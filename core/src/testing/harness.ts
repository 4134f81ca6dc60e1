// Tests start the same real servers the demo runs; see local/servers.ts.
export * from '../local/servers';
