import { createLogger, loadConfig } from '@bandwatch/core';
import { runAlerter } from '../index';

/*
 * The alerter as a separate process for crash tests (`node --import tsx
 * alerter/src/testing/alerterMain.ts config.yaml`): one process, so SIGKILL
 * hits the alerter itself and not a wrapper.
 */
const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: alerterMain.ts CONFIG\n');
  process.exit(2);
}
const config = loadConfig(file);
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
await runAlerter(config, { logger: createLogger(config.logging, 'alerter'), signal: stop.signal });
