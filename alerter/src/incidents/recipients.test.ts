import { describe, expect, it } from 'vitest';
import { recipientsFor } from './recipients';

const isp = { opsContacts: [{ name: 'NOC', whatsapp: '+15551110001' }, { name: 'On call', whatsapp: '+15551110002' }] };

describe('recipients', () => {
  it.each<[string, { contacts: Array<{ name: string; whatsapp: string }> } | null, Array<[string, string]>]>([
    ['device alerts go to ISP operations only', null, [['+15551110001', 'isp'], ['+15551110002', 'isp']]],
    [
      'reseller alerts add that reseller’s own contacts',
      { contacts: [{ name: 'FastNet', whatsapp: '+15552220002' }] },
      [['+15551110001', 'isp'], ['+15551110002', 'isp'], ['+15552220002', 'reseller']],
    ],
    ['a number on both sides gets one message', { contacts: [{ name: 'Shared', whatsapp: '+15551110002' }] }, [['+15551110001', 'isp'], ['+15551110002', 'isp']]],
    ['a reseller without contacts', { contacts: [] }, [['+15551110001', 'isp'], ['+15551110002', 'isp']]],
  ])('%s', (_name, reseller, expected) => {
    expect(recipientsFor(isp, reseller).map((r) => [r.number, r.audience])).toEqual(expected);
  });
});
