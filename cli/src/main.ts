import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, formatProblem, loadConfig, type Config } from '@bandwatch/core';

/*
 * `bandwatch <command>`: every service and tool is a subcommand reading the
 * same validated config. Commands are registered in COMMANDS only; help text
 * and dispatch both come from there.
 */

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export interface CommandContext {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  help: string;
  run(ctx: CommandContext): Promise<number>;
}

const configOption = { config: { type: 'string', short: 'c', default: 'config.yaml' } } as const;

/** Loads the config or reports every problem as `<path>: <what>` and returns null. */
export function loadConfigOrReport(file: string, err: (line: string) => void): Config | null {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`${file}: invalid configuration`);
      for (const p of e.problems) err(formatProblem(p));
      return null;
    }
    throw e;
  }
}

function signalOnShutdown(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

async function withConfig(ctx: CommandContext, fn: (config: Config) => Promise<number>): Promise<number> {
  const file = (ctx.positionals[0] ?? ctx.values.config) as string;
  const config = loadConfigOrReport(file, ctx.err);
  if (!config) return EXIT.usage;
  return fn(config);
}

export const COMMANDS: Record<string, Command> = {
  'config check': {
    usage: 'bandwatch config check [FILE]',
    summary: 'validate a config file (exit 0 valid, 2 invalid)',
    options: { ...configOption, print: { type: 'boolean', default: false } },
    help: 'Validates FILE (default config.yaml) against the schema and the inventory cross-checks.\nPrints one line per problem as `<yaml.path>: <what is wrong> (line N)` and exits 2, or exits 0.\n--print  also print the effective config (defaults filled in, secrets as <secret>).',
    async run(ctx) {
      return withConfig(ctx, async (config) => {
        const { stringify } = await import('yaml');
        const { redactedConfig } = await import('@bandwatch/core');
        const inv = config.inventory.isps;
        ctx.out(
          `ok: ${inv.length} isp(s), ${inv.reduce((n, i) => n + i.devices.length, 0)} device(s), ${inv.reduce((n, i) => n + i.resellers.length, 0)} reseller(s)`,
        );
        if (ctx.values.print) ctx.out(stringify(redactedConfig(config)));
        return EXIT.ok;
      });
    },
  },
  migrate: {
    usage: 'bandwatch migrate [--config FILE]',
    summary: 'apply pending database migrations in order (idempotent)',
    options: configOption,
    help: 'Applies supabase/migrations/*.sql that have not run yet, each in a transaction, recording them\nin supabase_migrations.schema_migrations (the table the Supabase CLI uses).',
    async run(ctx) {
      return withConfig(ctx, async (config) => {
        const { createPool, migrate } = await import('@bandwatch/core');
        const pool = createPool(config.postgres);
        try {
          const r = await migrate(pool);
          for (const m of r.applied) ctx.out(`applied ${m}`);
          ctx.out(`${r.applied.length} applied, ${r.alreadyApplied.length} already applied`);
          return EXIT.ok;
        } finally {
          await pool.end();
        }
      });
    },
  },
  'inventory apply': {
    usage: 'bandwatch inventory apply [FILE] [--dry-run]',
    summary: "upsert the config's inventory into the database",
    options: { ...configOption, 'dry-run': { type: 'boolean', default: false } },
    help: 'Makes the database inventory of every ISP named in FILE match the file: adds, changes and\nremoves devices, resellers, VLAN rules and IPs. ISPs the file does not name are left alone.\nA second run prints "no changes". --dry-run prints the diff and writes nothing.',
    async run(ctx) {
      return withConfig(ctx, async (config) => {
        const { createPool, applyInventory, formatChanges } = await import('@bandwatch/core');
        const pool = createPool(config.postgres);
        try {
          const dryRun = Boolean(ctx.values['dry-run']);
          const r = await applyInventory(pool, config.inventory, { dryRun, defaultSnmpPort: config.snmp.port });
          for (const line of formatChanges(r.changes)) ctx.out(line);
          if (r.changes.length > 0) ctx.out(dryRun ? `dry run: ${r.changes.length} change(s) not written` : `${r.changes.length} change(s) applied`);
          return EXIT.ok;
        } finally {
          await pool.end();
        }
      });
    },
  },
  demo: {
    usage: 'bandwatch demo [--config FILE] [--data-dir DIR]',
    summary: 'run the whole stack locally on loopback (Ctrl-C stops everything)',
    options: {
      ...configOption,
      'data-dir': { type: 'string', default: '.data' },
      profile: { type: 'string', default: 'simulator/profiles/demo.yaml' },
      'control-port': { type: 'string', default: '16100' },
      'exit-after': { type: 'string' },
    },
    help: 'Starts PostgreSQL and InfluxDB under DIR (default .data), applies migrations, the demo\ninventory and seed, then the simulated routers (--profile, control API on --control-port), the\ncollector and the alerter, and prints where each one listens. Ctrl-C stops everything.\n--exit-after SECONDS stops on its own (for tests).',
    async run(ctx) {
      return withConfig(ctx, async (config) => {
        const { runDemo } = await import('./demo');
        const exitAfter = ctx.values['exit-after'] ? Number(ctx.values['exit-after']) : undefined;
        return runDemo(config, {
          configFile: (ctx.positionals[0] ?? ctx.values.config) as string,
          dataDir: ctx.values['data-dir'] as string,
          profileFile: ctx.values.profile as string,
          simulatorControlPort: Number(ctx.values['control-port']),
          signal: signalOnShutdown(),
          out: ctx.out,
          exitAfterSeconds: exitAfter,
        });
      });
    },
  },
  collector: {
    usage: 'bandwatch collector [--config FILE]',
    summary: 'poll SNMP counters and ping targets, write rates and link state',
    options: configOption,
    help: 'Runs the collector: discovery and binding, SNMP polling, rate engine, InfluxDB writer with\non-disk spool, 5-minute rollups, ping monitor and link state, and /metrics + /healthz.',
    async run(ctx) {
      return withConfig(ctx, async (config) => {
        const { createLogger } = await import('@bandwatch/core');
        const { runCollector } = await import('@bandwatch/collector');
        await runCollector(config, { logger: createLogger(config.logging, 'collector'), signal: signalOnShutdown() });
        return EXIT.ok;
      });
    },
  },
  alerter: {
    usage: 'bandwatch alerter [--config FILE]',
    summary: 'evaluate alert rules and deliver notifications',
    options: configOption,
    help: 'Runs the alerter: utilization, uplink, link and no-data rules, incident state in Postgres,\nthe notification outbox and its dispatcher (WhatsApp through Twilio, or console), the Twilio\nstatus webhook, and /metrics + /healthz.',
    async run(ctx) {
      return withConfig(ctx, async (config) => {
        const { createLogger } = await import('@bandwatch/core');
        const { runAlerter } = await import('@bandwatch/alerter');
        await runAlerter(config, { logger: createLogger(config.logging, 'alerter'), signal: signalOnShutdown() });
        return EXIT.ok;
      });
    },
  },
  simulator: {
    usage: 'bandwatch simulator [--profile FILE] [--control-port PORT]',
    summary: 'run simulated SNMP routers with traffic models and fault injection',
    options: {
      profile: { type: 'string', default: 'simulator/profiles/demo.yaml' },
      'control-port': { type: 'string', default: '16100' },
    },
    help: 'Starts the SNMP agents a profile describes (IF-MIB with HC counters driven by traffic models)\nand the fault-injection control API on 127.0.0.1:PORT.',
    async run(ctx) {
      const { createLogger } = await import('@bandwatch/core');
      const { runSimulator } = await import('@bandwatch/simulator');
      await runSimulator({
        profileFile: ctx.values.profile as string,
        controlPort: Number(ctx.values['control-port']),
        logger: createLogger({ level: 'info', format: 'pretty' }, 'simulator'),
        signal: signalOnShutdown(),
      });
      return EXIT.ok;
    },
  },
  discover: {
    usage: 'bandwatch discover --device NAME [--config FILE]',
    summary: 'walk a device and show which reseller VLAN rule binds to which interface',
    options: { ...configOption, device: { type: 'string' } },
    help: "Walks NAME's interfaces (ifName, ifAlias, ifDescr, ifHighSpeed, ifOperStatus) and prints them\nwith the reseller VLAN rules that bind to each; a rule matching no interface or several is an error.",
    async run(ctx) {
      if (!ctx.values.device) {
        ctx.err('discover: --device NAME is required');
        return EXIT.usage;
      }
      return withConfig(ctx, async (config) => {
        const { runDiscover } = await import('@bandwatch/collector');
        return runDiscover(config, { device: ctx.values.device as string }, ctx.out);
      });
    },
  },
};

function globalHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    'bandwatch: bandwidth and link monitoring for ISPs and their resellers',
    '',
    'Usage: bandwatch <command> [options]',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --help. Config errors exit 2 with one line per problem.',
  ].join('\n');
}

export async function main(argv: string[], io: { out?: (l: string) => void; err?: (l: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    out(globalHelp());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const name = COMMANDS[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : (argv[0] as string);
  const command = COMMANDS[name];
  if (!command) {
    err(`bandwatch: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${globalHelp()}`);
    return EXIT.usage;
  }
  const rest = argv.slice(name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`Usage: ${command.usage}\n\n${command.help}`);
    return EXIT.ok;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
  } catch (e) {
    err(`${name}: ${(e as Error).message}\nUsage: ${command.usage}`);
    return EXIT.usage;
  }
  try {
    return await command.run({ positionals: parsed.positionals, values: parsed.values as CommandContext['values'], out, err });
  } catch (e) {
    // One line with the cause chain: operators need the reason, not a stack.
    let msg = (e as Error).message;
    for (let c = (e as Error).cause; c instanceof Error; c = c.cause) msg += `: ${c.message}`;
    err(`${name}: ${msg}`);
    if (process.env.BANDWATCH_DEBUG) err(String((e as Error).stack));
    return EXIT.failure;
  }
}
