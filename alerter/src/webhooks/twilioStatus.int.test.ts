import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { silentLogger, type Pool } from '@bandwatch/core';
import { freeTcpPort, requireBinary } from '@bandwatch/core/testing';
import { TEST_AUTH_TOKEN, seedInventory, startMigratedPostgres, type MigratedPostgres, type SeededInventory } from '../testing/alerterFixture';
import { messageSid, postStatusCallback } from '../testing/twilioLoopback';
import { AlerterMetrics } from '../metrics/alerterMetrics';
import { startAlerterServer, type AlerterServer } from '../http/alerterServer';
import { STATUS_WEBHOOK_PATH, advances, statusFromCallback, twilioStatusRouter } from './twilioStatus';

let pg: MigratedPostgres;
let pool: Pool;
let inv: SeededInventory;
let server: AlerterServer;
let base: string;

async function notification(status = 'queued', providerId: string | null = messageSid()): Promise<{ id: string; sid: string | null }> {
  const r = await pool.query(
    `insert into public.notifications (isp_id, channel, recipient, audience, template_key, body, status, provider_id, attempts)
     values ($1, 'twilio-whatsapp', '+15551110001', 'isp', 'link_down', 'x', $2, $3, 1) returning id`,
    [inv.ispId, status, providerId],
  );
  return { id: r.rows[0].id as string, sid: providerId };
}

async function snapshot(id: string) {
  return (await pool.query('select status, provider_id, provider_status, error_code, updated_at from public.notifications where id = $1', [id])).rows[0];
}

const urlFor = (id: string) => `${base}?notification_id=${id}`;

beforeAll(async () => {
  pg = await startMigratedPostgres();
  pool = pg.pool;
  inv = await seedInventory(pool);
  const port = await freeTcpPort();
  base = `http://127.0.0.1:${port}${STATUS_WEBHOOK_PATH}`;
  const metrics = new AlerterMetrics(pool, silentLogger());
  metrics.initChannels(['twilio-whatsapp']);
  server = await startAlerterServer({
    listen: '127.0.0.1',
    port,
    metrics,
    health: () => ({ ok: true }),
    routers: [twilioStatusRouter({ pool, authToken: TEST_AUTH_TOKEN, publicUrl: base, logger: silentLogger(), metrics })],
  });
});

afterAll(async () => {
  await server?.close();
  await pg?.stop();
});

beforeEach(async () => {
  await pool.query('delete from public.notifications');
});

describe('twilio status webhook', () => {
  it('a correctly signed callback records the status', async () => {
    const n = await notification();
    const res = await postStatusCallback(urlFor(n.id), { MessageSid: n.sid as string, MessageStatus: 'delivered', AccountSid: 'ACx' }, TEST_AUTH_TOKEN);
    expect(res.status).toBe(200);
    expect(await snapshot(n.id)).toMatchObject({ status: 'delivered', provider_status: 'delivered' });
  });

  it.each<[string, string | undefined]>([
    ['missing signature', undefined],
    ['forged signature', 'bm90LWEtcmVhbC1zaWduYXR1cmU='],
  ])('%s → 403 and nothing changes', async (_name, sig) => {
    const n = await notification();
    const before = await snapshot(n.id);
    const params = { MessageSid: n.sid as string, MessageStatus: 'read' };
    const res = sig === undefined ? await postStatusCallback(urlFor(n.id), params, null) : await postStatusCallback(urlFor(n.id), params, TEST_AUTH_TOKEN, sig);
    expect(res.status).toBe(403);
    expect(await snapshot(n.id)).toEqual(before);
  });

  it('a signature made with another auth token is rejected', async () => {
    const n = await notification();
    const before = await snapshot(n.id);
    const res = await postStatusCallback(urlFor(n.id), { MessageSid: n.sid as string, MessageStatus: 'read' }, 'some-other-token');
    expect(res.status).toBe(403);
    expect(await snapshot(n.id)).toEqual(before);
  });

  it('statuses never move backwards: delivered after read is ignored', async () => {
    const n = await notification();
    for (const s of ['sent', 'read', 'delivered', 'sent']) {
      const res = await postStatusCallback(urlFor(n.id), { MessageSid: n.sid as string, MessageStatus: s }, TEST_AUTH_TOKEN);
      expect(res.status).toBe(200);
    }
    expect((await snapshot(n.id)).status).toBe('read');
  });

  it('failed with an ErrorCode records the provider code', async () => {
    const n = await notification();
    const res = await postStatusCallback(urlFor(n.id), { MessageSid: n.sid as string, MessageStatus: 'failed', ErrorCode: '63016' }, TEST_AUTH_TOKEN);
    expect(res.status).toBe(200);
    expect(await snapshot(n.id)).toMatchObject({ status: 'failed', error_code: '63016' });
  });

  it('a callback that beats the send record fills in the provider id (closes the crash window)', async () => {
    const n = await notification('sending', null);
    const sid = messageSid();
    const res = await postStatusCallback(urlFor(n.id), { MessageSid: sid, MessageStatus: 'queued' }, TEST_AUTH_TOKEN);
    expect(res.status).toBe(200);
    expect(await snapshot(n.id)).toMatchObject({ status: 'queued', provider_id: sid });
  });

  it.each<[string, (id: string, sid: string) => { url: string; params: Record<string, string> }, number, RegExp]>([
    ['unknown notification id', (_id, sid) => ({ url: urlFor('00000000-0000-4000-8000-000000000000'), params: { MessageSid: sid, MessageStatus: 'sent' } }), 404, /does not exist/],
    ['notification id not a uuid', (_id, sid) => ({ url: urlFor('not-a-uuid'), params: { MessageSid: sid, MessageStatus: 'sent' } }), 400, /notification uuid/],
    ['no notification id at all', (_id, sid) => ({ url: base, params: { MessageSid: sid, MessageStatus: 'sent' } }), 400, /notification uuid/],
    ['missing MessageSid', (id) => ({ url: urlFor(id), params: { MessageStatus: 'sent' } }), 400, /MessageSid/],
    ['unknown MessageStatus', (id, sid) => ({ url: urlFor(id), params: { MessageSid: sid, MessageStatus: 'exploded' } }), 400, /not a known message status/],
    ['MessageSid of another message', (id) => ({ url: urlFor(id), params: { MessageSid: messageSid(), MessageStatus: 'sent' } }), 409, /was sent as/],
  ])('%s → clear 4xx and nothing changes', async (_name, make, code, message) => {
    const n = await notification();
    const before = await snapshot(n.id);
    const { url, params } = make(n.id, n.sid as string);
    const res = await postStatusCallback(url, params, TEST_AUTH_TOKEN);
    expect(res.status).toBe(code);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
    expect(await snapshot(n.id)).toEqual(before);
  });

  it('a body that is not a form is rejected (signature covers no params)', async () => {
    const n = await notification();
    const before = await snapshot(n.id);
    const res = await fetch(urlFor(n.id), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"MessageStatus":"read"' });
    expect(res.status).toBe(403);
    expect(await snapshot(n.id)).toEqual(before);
  });

  it.each<[string, string | undefined]>([
    ['accepted', 'queued'],
    ['sending', 'queued'],
    ['read', 'read'],
    ['receiving', undefined],
  ])('statusFromCallback(%s) = %s', (input, expected) => {
    expect(statusFromCallback(input)).toBe(expected);
  });

  it.each<[string, string, boolean]>([
    ['queued', 'sent', true],
    ['read', 'delivered', false],
    ['delivered', 'failed', false],
    ['sending', 'queued', true],
  ])('advances(%s → %s) = %s', (a, b, expected) => {
    expect(advances(a, b)).toBe(expected);
  });

  it('/metrics passes promtool check metrics and /healthz answers', async () => {
    const promtool = requireBinary('promtool', 'prometheus');
    const port = server.port;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain('bandwatch_alerter_webhook_requests_total');
    expect(text).toContain('bandwatch_alerter_dispatch_latency_seconds_bucket');
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
