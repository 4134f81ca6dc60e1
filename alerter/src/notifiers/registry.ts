import type { Config } from '@bandwatch/core';
import type { Notifier } from './notifier';
import { ConsoleNotifier } from './console/consoleNotifier';
import { TwilioWhatsappNotifier } from './twilio-whatsapp/twilioWhatsappNotifier';

export interface NotifierContext {
  config: Config;
  /** Public URL of the status webhook (null: do not ask for callbacks). */
  statusCallbackUrl: string | null;
  consoleWrite?: (line: string) => void;
}

/**
 * The one place a channel is registered: its name, whether it can run with
 * this config, and how to build it. Adding a channel is one entry here plus
 * its folder.
 */
const CHANNELS: ReadonlyArray<{ channel: string; available: (c: Config) => boolean; create: (ctx: NotifierContext) => Notifier }> = [
  {
    channel: 'twilio-whatsapp',
    available: (c) => c.twilio !== undefined,
    create: (ctx) =>
      new TwilioWhatsappNotifier({
        twilio: ctx.config.twilio as NonNullable<Config['twilio']>,
        statusCallbackUrl: ctx.statusCallbackUrl,
        requestTimeoutMs: ctx.config.alerting.dispatch.request_timeout_ms,
      }),
  },
  { channel: 'console', available: () => true, create: (ctx) => new ConsoleNotifier(ctx.consoleWrite) },
];

export const CHANNEL_NAMES = CHANNELS.map((c) => c.channel);

/** The channel new notifications go to: `auto` means WhatsApp when a twilio section exists, else console. */
export function activeChannel(config: Config): string {
  const wanted = config.alerting.channel;
  if (wanted === 'auto') return config.twilio !== undefined ? 'twilio-whatsapp' : 'console';
  const def = CHANNELS.find((c) => c.channel === wanted);
  if (!def?.available(config)) throw new Error(`alerting.channel: ${wanted} needs its config section (twilio)`);
  return wanted;
}

/** Every channel this config can run, so rows written earlier for another channel still drain. */
export function createNotifiers(ctx: NotifierContext): Map<string, Notifier> {
  const out = new Map<string, Notifier>();
  for (const def of CHANNELS) if (def.available(ctx.config)) out.set(def.channel, def.create(ctx));
  return out;
}
