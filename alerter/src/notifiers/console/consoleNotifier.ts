import { randomUUID } from 'node:crypto';
import type { Notifier, OutboundMessage, SendResult } from '../notifier';

/**
 * Prints the exact message that would be sent. The demo uses it when no
 * Twilio section is configured, so a newcomer sees real alerts without an account.
 */
export class ConsoleNotifier implements Notifier {
  readonly channel = 'console';
  readonly senderKey = 'console';
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void = (line) => process.stdout.write(line)) {
    this.#write = write;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    this.#write(`[alert → ${message.recipient} · ${message.templateKey} · ${message.notificationId}]\n${message.body}\n`);
    return { providerId: `console-${randomUUID()}`, providerStatus: 'delivered' };
  }
}
