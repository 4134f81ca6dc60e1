import pg from 'pg';
import { errorMessage, type Logger } from '@bandwatch/core';
import type { LinkEventPayload, LinkProcessor } from './linkProcessor';

export const LINK_CHANNEL = 'bandwatch_link_events';

/**
 * LISTENs on a dedicated connection (a pooled one would lose the LISTEN when
 * returned). On loss it reconnects with backoff and reconciles with
 * link_state, so a transition NOTIFYed while disconnected is not lost.
 */
export class LinkListener {
  readonly #url: string;
  readonly #processor: LinkProcessor;
  readonly #logger: Logger;
  #client: pg.Client | null = null;
  #stopped = false;
  #queue: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | null = null;
  connected = false;

  constructor(url: string, processor: LinkProcessor, logger: Logger) {
    this.#url = url;
    this.#processor = processor;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    await this.#connect(0);
  }

  async #connect(attempt: number): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.#url, application_name: 'bandwatch-alerter-listen' });
    client.on('notification', (msg) => {
      if (msg.channel !== LINK_CHANNEL || !msg.payload) return;
      let evt: LinkEventPayload;
      try {
        evt = JSON.parse(msg.payload) as LinkEventPayload;
      } catch (err) {
        this.#logger.warn({ err: errorMessage(err) }, 'link event: malformed NOTIFY payload');
        return;
      }
      this.#enqueue(() => this.#processor.processEvent(evt).then(() => undefined), `link event ${evt.reseller_ip_id} → ${evt.to_state}`);
    });
    client.on('error', (err) => {
      this.#logger.warn({ err: errorMessage(err) }, 'link listener connection error');
      this.#lost(client, attempt);
    });
    client.on('end', () => this.#lost(client, attempt));
    try {
      await client.connect();
      await client.query(`listen ${LINK_CHANNEL}`);
      this.#client = client;
      this.connected = true;
      this.#logger.info('listening for link events');
      this.#enqueue(() => this.#processor.reconcile().then(() => undefined), 'link reconcile after (re)connect');
    } catch (err) {
      this.#logger.warn({ err: errorMessage(err), attempt }, 'link listener connect failed');
      client.end().catch(() => undefined);
      this.#schedule(attempt + 1);
    }
  }

  #lost(client: pg.Client, attempt: number): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.connected = false;
    client.removeAllListeners('end');
    if (!this.#stopped) this.#schedule(Math.min(attempt + 1, 6));
  }

  #schedule(attempt: number): void {
    if (this.#stopped || this.#retryTimer) return;
    const delay = Math.min(30_000, 250 * 2 ** attempt);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#connect(attempt);
    }, delay);
  }

  #enqueue(fn: () => Promise<void>, what: string): void {
    this.#queue = this.#queue.then(fn).catch((err: unknown) => this.#logger.error({ err: errorMessage(err) }, `${what} failed`));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    const c = this.#client;
    this.#client = null;
    this.connected = false;
    if (c) await c.end().catch(() => undefined);
    await this.#queue;
  }
}
