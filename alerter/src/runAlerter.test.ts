import { describe, expect, it } from 'vitest';
import { nextTickAt } from './runAlerter';
import { mapProviderStatus } from './outbox/dispatcher';
import { classifyTwilioError } from './notifiers/twilio-whatsapp/twilioWhatsappNotifier';

describe('evaluation schedule', () => {
  it.each<[number, number, number]>([
    // now, interval, next tick: the interval grid plus a settle delay of interval/10 (max 2 s)
    [0, 60_000, 2_000],
    [2_000, 60_000, 62_000],
    [59_999, 60_000, 62_000],
    [10_000, 5_000, 10_500],
    [10_600, 5_000, 15_500],
  ])('now %i, every %i ms → %i', (now, interval, expected) => {
    expect(nextTickAt(now, interval)).toBe(expected);
  });
});

describe('provider answers', () => {
  it.each([
    ['queued', 'queued'],
    ['accepted', 'queued'],
    ['sending', 'queued'],
    ['sent', 'sent'],
    ['delivered', 'delivered'],
  ])('Twilio status %s is recorded as %s', (input, expected) => {
    expect(mapProviderStatus(input)).toBe(expected);
  });

  it.each<[string, unknown, boolean, string]>([
    ['429 retries', { status: 429, code: 20429, message: 'Too Many Requests' }, true, '20429'],
    ['500 retries', { status: 500, code: 20500, message: 'oops' }, true, '20500'],
    ['503 without a code retries', { status: 503 }, true, 'http_503'],
    ['21211 invalid number is final', { status: 400, code: 21211, message: 'invalid To' }, false, '21211'],
    ['63016 outside session window is final', { status: 400, code: 63016, message: 'outside window' }, false, '63016'],
    ['a timeout retries', Object.assign(new Error('timeout of 400ms exceeded'), { code: 'ECONNABORTED' }), true, 'timeout'],
    ['connection refused retries', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true, 'ECONNREFUSED'],
  ])('%s', (_name, err, retryable, code) => {
    const e = classifyTwilioError(err, null);
    expect([e.retryable, e.code]).toEqual([retryable, code]);
  });

  it('63016 on a free-form message names the missing template key', () => {
    expect(classifyTwilioError({ status: 400, code: 63016, message: 'outside window' }, 'link_down').message).toContain('set twilio.templates.link_down');
  });
});
