import type { Isp, Reseller } from '@bandwatch/core';

export interface Recipient {
  number: string;
  audience: 'isp' | 'reseller';
}

/**
 * Who hears about an alert: the ISP's operations contacts always, and the
 * reseller's own contacts for that reseller's alerts only (never another
 * reseller's, never device or uplink alerts). A number listed on both sides
 * gets one message.
 */
export function recipientsFor(isp: Pick<Isp, 'opsContacts'>, reseller: Pick<Reseller, 'contacts'> | null): Recipient[] {
  const out: Recipient[] = [];
  const seen = new Set<string>();
  for (const c of isp.opsContacts ?? []) {
    if (!seen.has(c.whatsapp)) out.push({ number: c.whatsapp, audience: 'isp' });
    seen.add(c.whatsapp);
  }
  for (const c of reseller?.contacts ?? []) {
    if (!seen.has(c.whatsapp)) out.push({ number: c.whatsapp, audience: 'reseller' });
    seen.add(c.whatsapp);
  }
  return out;
}
