import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type Pool } from '@bandwatch/core';
import { waitFor } from '@bandwatch/core/testing';
import {
  TEMPLATE_RED,
  TEMPLATE_YELLOW,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
  TEST_FROM,
  seedInventory,
  startMigratedPostgres,
  testConfig,
  type MigratedPostgres,
  type SeededInventory,
} from '../../testing/alerterFixture';
import { startTwilioLoopback, type TwilioLoopback } from '../../testing/twilioLoopback';
import { createNotifiers } from '../registry';
import { Dispatcher } from '../../outbox/dispatcher';
import { AlerterMetrics } from '../../metrics/alerterMetrics';
import { applyRule } from '../../incidents/alertStore';
import { recipientsFor } from '../../incidents/recipients';

/*
 * The dispatcher driving the REAL twilio SDK (BaseUrlRequestClient) against a
 * loopback Messages API, with the outbox in a real Postgres.
 */

let pg: MigratedPostgres;
let pool: Pool;
let tw: TwilioLoopback;
let inv: SeededInventory;
const CALLBACK = 'http://127.0.0.1:9/webhooks/twilio/status';

function config(dispatch: Record<string, unknown> = {}) {
  return testConfig({
    postgres: { url: 'postgres://unused' },
    influx: { url: 'http://127.0.0.1:1', database: 'x' },
    alerting: {
      dispatch: { backoff_initial_ms: 200, backoff_max_ms: 2000, max_attempts: 4, sender_rate_per_second: 50, recipient_min_gap_seconds: 0, request_timeout_ms: 400, ...dispatch },
    },
    twilio: {
      account_sid: TEST_ACCOUNT_SID,
      auth_token: TEST_AUTH_TOKEN,
      from: TEST_FROM,
      api_base_url: tw.url,
      templates: { utilization_yellow: TEMPLATE_YELLOW, utilization_red: TEMPLATE_RED },
    },
  });
}

async function withDispatcher<T>(dispatch: Record<string, unknown>, fn: (d: Dispatcher) => Promise<T>): Promise<T> {
  const cfg = config(dispatch);
  const d = new Dispatcher({
    pool,
    notifiers: createNotifiers({ config: cfg, statusCallbackUrl: CALLBACK }),
    dispatch: cfg.alerting.dispatch,
    logger: silentLogger(),
    metrics: new AlerterMetrics(pool, silentLogger()),
    random: () => 0.5,
    idleMs: 20,
  });
  d.start();
  try {
    return await fn(d);
  } finally {
    await d.stop();
  }
}

async function enqueue(recipient: string, templateKey = 'utilization_yellow', body = 'YELLOW: FastNet at 85.0 %'): Promise<string> {
  const r = await pool.query(
    `insert into public.notifications (isp_id, reseller_id, channel, recipient, audience, template_key, variables, body)
     values ($1, $2, 'twilio-whatsapp', $3, 'isp', $4, $5, $6) returning id`,
    [inv.ispId, inv.resellerId, recipient, templateKey, { '1': 'FastNet', '2': '85.0 %' }, body],
  );
  return r.rows[0].id as string;
}

async function row(id: string) {
  return (await pool.query('select * from public.notifications where id = $1', [id])).rows[0];
}

async function settled(id: string) {
  return waitFor(`notification ${id} settled`, async () => {
    const r = await row(id);
    return ['queued', 'sent', 'delivered', 'failed'].includes(r.status) ? r : undefined;
  });
}

beforeAll(async () => {
  [pg, tw] = await Promise.all([startMigratedPostgres(), startTwilioLoopback()]);
  pool = pg.pool;
  inv = await seedInventory(pool);
});

afterAll(async () => {
  await tw?.close();
  await pg?.stop();
});

beforeEach(async () => {
  tw.requests.length = 0;
  tw.answer = () => ({ status: 201 });
  await pool.query('delete from public.notifications');
});

describe('twilio-whatsapp through the real SDK', () => {
  it('an alert state change becomes one Messages API request with the exact form body', async () => {
    // The state change and its outbox rows, written by the incident store in one transaction.
    const change = await applyRule(
      pool,
      {
        subject: { kind: 'UTILIZATION', dedupKey: `UTILIZATION:${inv.resellerId}`, ispId: inv.ispId, resellerId: inv.resellerId, deviceId: null },
        recipients: recipientsFor({ opsContacts: [{ name: 'NOC', whatsapp: '+15551110001' }] }, null),
        silenced: false,
        channel: 'twilio-whatsapp',
        nowMs: Date.UTC(2026, 10, 23, 22, 0, 0),
        summary: 'UTILIZATION FastNet',
        facts: (_a, event) => ({
          event,
          kind: 'UTILIZATION',
          severity: 'YELLOW',
          ispName: 'Acme ISP',
          subjectName: 'FastNet',
          value: 85,
          threshold: 80,
          direction: 'in',
          committedMbps: 100,
          windowSeconds: 300,
          atMs: Date.UTC(2026, 10, 23, 22, 0, 0),
        }),
      },
      () => ({ type: 'fire', severity: 'YELLOW', value: 85, threshold: 80, notify: true }),
    );
    expect(change?.notificationIds).toHaveLength(1);
    const id = change?.notificationIds[0] as string;
    await withDispatcher({}, async () => {
      const r = await settled(id);
      expect(r.status).toBe('queued');
      expect(r.provider_id).toMatch(/^SM[0-9a-f]{32}$/);
      expect(r.attempts).toBe(1);
    });
    expect(tw.requests).toHaveLength(1);
    const req = tw.requests[0]!;
    expect(req.accountSid).toBe(TEST_ACCOUNT_SID);
    expect(req.authorization).toBe(`Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`);
    expect(req.form).toEqual({
      From: TEST_FROM,
      To: 'whatsapp:+15551110001',
      ContentSid: TEMPLATE_YELLOW,
      ContentVariables: JSON.stringify({ '1': 'FastNet', '2': '85.0 %', '3': 'in', '4': '100 Mbps', '5': '2026-11-23 22:00 UTC', '6': 'Acme ISP' }),
      StatusCallback: `${CALLBACK}?notification_id=${id}`,
    });
  });

  it('429 then 201: retried after backoff, accepted on the second attempt', async () => {
    tw.answer = (_r, i) => (i === 0 ? { status: 429, code: 20429, message: 'Too Many Requests' } : { status: 201 });
    const id = await enqueue('+15551110010');
    const r = await withDispatcher({}, () => settled(id));
    expect(r.status).toBe('queued');
    expect(r.attempts).toBe(2);
    expect(tw.requests).toHaveLength(2);
    const gap = tw.requests[1]!.atMs - tw.requests[0]!.atMs;
    // attempt 1 → 200 ms step, equal jitter with random 0.5 → 150 ms.
    expect(gap).toBeGreaterThanOrEqual(150);
    expect(gap).toBeLessThan(1000);
    console.log(`429 → retry after ${gap} ms (nominal 150 ms)`);
  });

  it('500, 500, 201: exponential backoff between attempts', async () => {
    tw.answer = (_r, i) => (i < 2 ? { status: 500, code: 20500, message: 'Internal Server Error' } : { status: 201 });
    const id = await enqueue('+15551110011');
    const r = await withDispatcher({}, () => settled(id));
    expect(r.status).toBe('queued');
    expect(r.attempts).toBe(3);
    const gaps = [tw.requests[1]!.atMs - tw.requests[0]!.atMs, tw.requests[2]!.atMs - tw.requests[1]!.atMs];
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(300);
    expect(gaps[1]).toBeLessThan(1500);
    console.log(`500 → retries after ${gaps.join(' ms, ')} ms (nominal 150, 300 ms)`);
  });

  it('a hung request times out and is retried', async () => {
    tw.answer = (_r, i) => (i === 0 ? { hang: true } : { status: 201 });
    const id = await enqueue('+15551110012');
    const r = await withDispatcher({}, () => settled(id));
    expect(r.status).toBe('queued');
    expect(r.attempts).toBe(2);
    const gap = tw.requests[1]!.atMs - tw.requests[0]!.atMs;
    // 400 ms request timeout + 150 ms backoff.
    expect(gap).toBeGreaterThanOrEqual(400 + 150);
    console.log(`timeout → retry after ${gap} ms (timeout 400 ms + backoff 150 ms)`);
  });

  it('63016 (outside the session window) fails at once with the provider code', async () => {
    tw.answer = () => ({ status: 400, code: 63016, message: 'Failed to send freeform message because you are outside the allowed window.' });
    const id = await enqueue('+15551110013', 'link_down', 'LINK DOWN: FastNet');
    const r = await withDispatcher({}, () => settled(id));
    expect(r).toMatchObject({ status: 'failed', error_code: '63016', attempts: 1, provider_id: null });
    expect(r.error_message).toContain('set twilio.templates.link_down');
    // No template configured for link_down: free-form Body, no ContentSid.
    expect(tw.requests).toHaveLength(1);
    expect(tw.requests[0]!.form.Body).toBe('LINK DOWN: FastNet');
    expect(tw.requests[0]!.form.ContentSid).toBeUndefined();
  });

  it('21211 (invalid number) is permanent: no retry', async () => {
    tw.answer = () => ({ status: 400, code: 21211, message: "The 'To' number is not a valid phone number." });
    const id = await enqueue('+15551110014');
    const r = await withDispatcher({}, () => settled(id));
    expect(r).toMatchObject({ status: 'failed', error_code: '21211', attempts: 1 });
    await new Promise((res) => setTimeout(res, 300));
    expect(tw.requests).toHaveLength(1);
  });

  it('gives up after max_attempts of 5xx and keeps the last code', async () => {
    tw.answer = () => ({ status: 503, code: 20503, message: 'Service Unavailable' });
    const id = await enqueue('+15551110015');
    const r = await withDispatcher({ max_attempts: 3 }, () => settled(id));
    expect(r).toMatchObject({ status: 'failed', error_code: '20503', attempts: 3 });
    expect(tw.requests).toHaveLength(3);
  });

  it('a row with a template key nobody knows fails with a clear error and sends nothing', async () => {
    const id = await enqueue('+15551110016', 'bogus_key');
    const r = await withDispatcher({}, () => settled(id));
    expect(r).toMatchObject({ status: 'failed', error_code: 'unknown_template_key' });
    expect(r.error_message).toContain('unknown template key "bogus_key"');
    expect(tw.requests).toHaveLength(0);
  });

  it('messages piling up for one recipient within the minimum gap go out as one digest', async () => {
    const first = await enqueue('+15551110017', 'utilization_yellow', 'first');
    await withDispatcher({ recipient_min_gap_seconds: 2 }, async () => {
      await settled(first);
      const a = await enqueue('+15551110017', 'utilization_red', 'second');
      const b = await enqueue('+15551110017', 'utilization_yellow', 'third');
      const ra = await waitFor('digested', async () => {
        const r = await row(a);
        return r.status === 'digested' ? r : undefined;
      });
      expect((await row(b)).digest_id).toBe(ra.digest_id);
      const digest = await settled(ra.digest_id as string);
      expect(digest).toMatchObject({ status: 'queued', template_key: 'digest' });
    });
    expect(tw.requests).toHaveLength(2);
    const gap = tw.requests[1]!.atMs - tw.requests[0]!.atMs;
    expect(gap).toBeGreaterThanOrEqual(2000);
    // No digest template configured: the free-form body lists both.
    expect(tw.requests[1]!.form.Body).toBe('2 Bandwatch alerts:\n• second\n• third');
  });

  it('the per-sender rate limit spaces sends to different recipients', async () => {
    const ids = await Promise.all([20, 21, 22, 23, 24].map((n) => enqueue(`+155511100${n}`)));
    await withDispatcher({ sender_rate_per_second: 5 }, async () => {
      for (const id of ids) await settled(id);
    });
    const times = tw.requests.map((r) => r.atMs).sort((x, y) => x - y);
    expect(times).toHaveLength(5);
    const span = times[4]! - times[0]!;
    // 5 msg/s: five sends need at least four 200 ms slots.
    expect(span).toBeGreaterThanOrEqual(780);
    console.log(`rate limit 5/s: 5 sends spread over ${span} ms`);
  });
});
