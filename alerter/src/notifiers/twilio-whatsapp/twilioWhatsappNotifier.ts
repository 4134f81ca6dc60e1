import twilio from 'twilio';
import type { TwilioConfig } from '@bandwatch/core';
import { DeliveryError, type Notifier, type OutboundMessage, type SendResult } from '../notifier';
import { isTemplateKey } from '../formatMessage';

type RequestOptions = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0];

/**
 * Sends every SDK request to `baseUrl` instead of api.twilio.com, rewriting
 * only the origin: auth, form encoding and error handling stay the SDK's own.
 * Used with `twilio.api_base_url` (a loopback Messages API in tests, or a proxy).
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  readonly #base: URL;

  constructor(baseUrl: string, options: ConstructorParameters<typeof twilio.RequestClient>[0] = {}) {
    super(options);
    this.#base = new URL(baseUrl);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors the SDK's own generic signature
  override request(opts: RequestOptions): Promise<any> {
    const uri = new URL(opts.uri);
    const basePath = this.#base.pathname.replace(/\/$/, '');
    const rewritten = `${this.#base.origin}${basePath}${uri.pathname}${uri.search}`;
    return super.request({ ...opts, uri: rewritten });
  }
}

export interface TwilioWhatsappOptions {
  twilio: TwilioConfig;
  /** Public URL of this alerter's status webhook; the notification id is added as a query parameter. */
  statusCallbackUrl: string | null;
  requestTimeoutMs: number;
}

/** The status callback URL for one notification: what Twilio calls and what the signature covers. */
export function statusCallbackFor(base: string, notificationId: string): string {
  const url = new URL(base);
  url.searchParams.set('notification_id', notificationId);
  return url.toString();
}

export class TwilioWhatsappNotifier implements Notifier {
  readonly channel = 'twilio-whatsapp';
  readonly senderKey: string;
  readonly #client: twilio.Twilio;
  readonly #cfg: TwilioConfig;
  readonly #statusCallbackUrl: string | null;

  constructor(options: TwilioWhatsappOptions) {
    this.#cfg = options.twilio;
    this.senderKey = options.twilio.from;
    this.#statusCallbackUrl = options.statusCallbackUrl;
    const clientOpts = { timeout: options.requestTimeoutMs, autoRetry: false, keepAlive: false };
    // Retries are the dispatcher's (backoff with jitter on 429/5xx/timeouts, durable across restarts), never the SDK's.
    this.#client = twilio(options.twilio.account_sid.reveal(), options.twilio.auth_token.reveal(), {
      ...clientOpts,
      ...(options.twilio.api_base_url ? { httpClient: new BaseUrlRequestClient(options.twilio.api_base_url, clientOpts) as twilio.RequestClient } : {}),
    });
  }

  /** Content SID for a template key, or undefined when none is configured (free-form Body then). */
  contentSidFor(templateKey: string): string | undefined {
    if (!isTemplateKey(templateKey)) {
      throw new DeliveryError(`twilio-whatsapp: unknown template key "${templateKey}"`, { retryable: false, code: 'unknown_template_key' });
    }
    return (this.#cfg.templates as Partial<Record<string, string>>)[templateKey];
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const contentSid = this.contentSidFor(message.templateKey);
    const params: Parameters<twilio.Twilio['messages']['create']>[0] = {
      from: this.#cfg.from,
      to: `whatsapp:${message.recipient}`,
      ...(contentSid ? { contentSid, contentVariables: JSON.stringify(message.variables) } : { body: message.body }),
      ...(this.#statusCallbackUrl ? { statusCallback: statusCallbackFor(this.#statusCallbackUrl, message.notificationId) } : {}),
    };
    try {
      const created = await this.#client.messages.create(params);
      return { providerId: created.sid, providerStatus: created.status };
    } catch (err) {
      throw classifyTwilioError(err, contentSid === undefined ? message.templateKey : null);
    }
  }
}

/** 429, 5xx, timeouts and connection failures are worth retrying; any other answer is final. */
export function classifyTwilioError(err: unknown, freeFormTemplateKey: string | null): DeliveryError {
  const e = err as { status?: unknown; code?: unknown; message?: unknown; moreInfo?: unknown; code_?: unknown };
  if (typeof e.status === 'number') {
    const status = e.status;
    const code = e.code !== undefined ? String(e.code) : `http_${status}`;
    const retryable = status === 429 || status >= 500;
    let message = `twilio-whatsapp: ${status} ${code}: ${String(e.message ?? '')}`;
    if (code === '63016' && freeFormTemplateKey !== null) {
      message += ` (no approved template configured for "${freeFormTemplateKey}": set twilio.templates.${freeFormTemplateKey})`;
    }
    return new DeliveryError(message, { retryable, code, cause: err });
  }
  const netCode = typeof (err as { code?: unknown }).code === 'string' ? String((err as { code: string }).code) : 'network';
  const code = netCode === 'ECONNABORTED' || netCode === 'ETIMEDOUT' ? 'timeout' : netCode;
  return new DeliveryError(`twilio-whatsapp: request failed (${code}): ${err instanceof Error ? err.message : String(err)}`, { retryable: true, code, cause: err });
}
