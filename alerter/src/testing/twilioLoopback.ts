import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';

/*
 * The one stand-in: a loopback server speaking Twilio's documented Messages
 * API (POST /2010-04-01/Accounts/{sid}/Messages.json, form body, Basic auth,
 * 201 + Message JSON or an error JSON). The real SDK talks to it through
 * BaseUrlRequestClient; tests script its answers.
 */

export interface RecordedRequest {
  atMs: number;
  accountSid: string;
  authorization: string | undefined;
  form: Record<string, string>;
  /** notification_id from the StatusCallback query, when present. */
  notificationId: string | null;
}

export type LoopbackAnswer =
  | { status: 201; delayMs?: number; messageStatus?: string }
  | { status: number; code: number; message: string; delayMs?: number }
  /** Never answers (the SDK's timeout fires). */
  | { hang: true };

export interface TwilioLoopback {
  url: string;
  requests: RecordedRequest[];
  /** Decides the answer for the n-th request (0-based) overall. */
  answer: (req: RecordedRequest, index: number) => LoopbackAnswer;
  close(): Promise<void>;
}

export function messageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

export async function startTwilioLoopback(): Promise<TwilioLoopback> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const state: TwilioLoopback = {
    url: '',
    requests,
    answer: () => ({ status: 201 }),
    close: async () => undefined,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 20404, message: 'The requested resource was not found', status: 404 }));
        return;
      }
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const cb = form.StatusCallback ? new URL(form.StatusCallback).searchParams.get('notification_id') : null;
      const rec: RecordedRequest = { atMs: Date.now(), accountSid: m[1] as string, authorization: req.headers.authorization, form, notificationId: cb };
      const index = requests.length;
      requests.push(rec);
      const a = state.answer(rec, index);
      if ('hang' in a) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const reply = () => {
        if (a.status === 201) {
          const sid = messageSid();
          res.writeHead(201, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              sid,
              account_sid: rec.accountSid,
              from: form.From,
              to: form.To,
              body: form.Body ?? '',
              status: ('messageStatus' in a ? a.messageStatus : undefined) ?? 'queued',
              direction: 'outbound-api',
              date_created: new Date().toUTCString(),
              uri: `/2010-04-01/Accounts/${rec.accountSid}/Messages/${sid}.json`,
            }),
          );
        } else {
          const e = a as { status: number; code: number; message: string };
          res.writeHead(e.status, { 'content-type': 'application/json' }).end(
            JSON.stringify({ code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status }),
          );
        }
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const r of hanging) r.destroy();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

/** Posts a status callback exactly as Twilio does: form body, X-Twilio-Signature over URL + params. */
export async function postStatusCallback(url: string, params: Record<string, string>, authToken: string | null, signatureOverride?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (signatureOverride !== undefined) headers['x-twilio-signature'] = signatureOverride;
  else if (authToken !== null) headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(authToken, url, params);
  return fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
}
