import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference, embedReference, SECTION_DOCS } from './reference';
import { makeConfigSchema } from './schema';

describe('config reference', () => {
  it('README.md embeds exactly the reference the schema generates (run `npm run config:reference -- --write`)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(embedReference(readme, configReference())).toBe(readme);
  });

  it('documents every top-level section', () => {
    const sections = Object.keys(makeConfigSchema({}).shape);
    expect(sections.filter((s) => !SECTION_DOCS[s])).toEqual([]);
  });

  it('lists every key of the example config', () => {
    const ref = configReference();
    for (const key of ['inventory.isps[].resellers[].committed_mbps', 'alerting.uplink.threshold_mbps', 'snmp.auths.<name>.priv_password', 'ping.down_after_failures']) {
      expect(ref).toContain(`\`${key}\``);
    }
  });
});
