import { KindedError } from '@bandwatch/core';

/** One message as the outbox hands it to a channel. */
export interface OutboundMessage {
  notificationId: string;
  /** E.164 number; the channel adds its own addressing (e.g. `whatsapp:`). */
  recipient: string;
  templateKey: string;
  variables: Record<string, string>;
  body: string;
}

export interface SendResult {
  providerId: string;
  /** The provider's status at acceptance (Twilio: queued / accepted / sent). */
  providerStatus: string;
}

export interface Notifier {
  readonly channel: string;
  /** Rate limits apply per sender (Twilio: ~10 msg/s per WhatsApp sender). */
  readonly senderKey: string;
  send(message: OutboundMessage): Promise<SendResult>;
}

/**
 * A failed send, classified for the dispatcher: retryable (429, 5xx,
 * timeouts, connection errors) or permanent (invalid number, template
 * rejected, outside the session window…), with the provider's code.
 */
export class DeliveryError extends KindedError {
  readonly retryable: boolean;
  readonly code: string;

  constructor(message: string, options: { retryable: boolean; code: string; cause?: unknown }) {
    super(options.retryable ? 'timeout' : 'provider', message, { cause: options.cause });
    this.name = 'DeliveryError';
    this.retryable = options.retryable;
    this.code = options.code;
  }
}
