export { runAlerter, evaluationIntervalMs, nextTickAt, type RunAlerterOptions } from './runAlerter';
export * from './rules/index';
export { windowMeanQuery, type WindowMeanQuery } from './queries/influxql';
export { formatAlertMessage, formatDigest, templateKeyFor, TEMPLATE_KEYS, type TemplateKey, type AlertFacts } from './notifiers/formatMessage';
export { activeChannel, createNotifiers, CHANNEL_NAMES } from './notifiers/registry';
export type { Notifier, OutboundMessage, SendResult } from './notifiers/notifier';
export { DeliveryError } from './notifiers/notifier';
export { BaseUrlRequestClient } from './notifiers/twilio-whatsapp/twilioWhatsappNotifier';
export { STATUS_WEBHOOK_PATH } from './webhooks/twilioStatus';
