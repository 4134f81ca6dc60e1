import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggingOptions {
  level: string;
  format: 'json' | 'pretty';
}

/**
 * One logger per process; components take `logger.child({ component })`.
 * Secrets are instances of Secret, which serialise as `<secret>`, so no redact
 * list has to be kept in step with the schema.
 */
export function createLogger(options: LoggingOptions = { level: 'info', format: 'json' }, name = 'bandwatch'): Logger {
  const usePretty = options.format === 'pretty' && process.stdout.isTTY;
  return pino({
    name,
    level: options.level,
    ...(usePretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } } : {}),
  });
}

/** A logger that drops everything; for tests that assert on behaviour, not output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
