import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@bandwatch/core';
import { expandInterfaces, loadProfile, parseProfileText, ProfileError } from './profile';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('profile file', () => {
  it.each([
    ['an unknown key', 'devices:\n  - name: a\n    port: 1\n    community: public\n    colour: red\n', 'devices[0].colour: unknown key'],
    ['a bad model kind', 'devices:\n  - name: a\n    port: 1\n    community: public\n    interfaces:\n      - { name: e1, speed_mbps: 10, in: { kind: sine } }\n', 'devices[0].interfaces[0].in.kind'],
    ['no credentials', 'devices:\n  - name: a\n    port: 1\n', 'devices[0].community: needs a community or at least one v3 user'],
    ['a v3 user without priv password', 'devices:\n  - name: a\n    port: 1\n    v3_users: [{ username: u, auth_password: authpass1 }]\n', 'devices[0].v3_users[0].priv_password'],
    ['a duplicate interface', 'devices:\n  - name: a\n    port: 1\n    community: c\n    interfaces: [{ name: e1, speed_mbps: 1 }, { name: e1, speed_mbps: 1 }]\n', 'devices[0].interfaces[1].name: is a duplicate'],
    ['a negative rate', 'devices:\n  - name: a\n    port: 1\n    community: c\n    interfaces: [{ name: e1, speed_mbps: 1, in: { kind: constant, mbps: -1 } }]\n', 'devices[0].interfaces[0].in.mbps'],
  ])('rejects %s and names the path', (_label, text, expected) => {
    let err: unknown;
    try {
      parseProfileText(text, 'p.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    expect((err as ProfileError).message).toContain('p.yaml');
    expect((err as ProfileError).problems.join('\n')).toContain(expected);
  });

  it('expands generated interfaces', () => {
    const p = parseProfileText('devices:\n  - name: big\n    port: 0\n    community: public\n    generate: { count: 3, name_template: "ether2.{n}", vlan_start: 100 }\n');
    expect(expandInterfaces(p.devices[0]!).map((i) => i.name)).toEqual(['ether2.100', 'ether2.101', 'ether2.102']);
  });

  it("demo.yaml matches config.yaml's inventory: same devices, ports and credentials", () => {
    const profile = loadProfile(`${root}simulator/profiles/demo.yaml`);
    const config = loadConfig(`${root}config.yaml`, {});
    const devices = config.inventory.isps.flatMap((i) => i.devices);
    expect(profile.devices.map((d) => d.name).sort()).toEqual(devices.map((d) => d.name).sort());
    for (const d of devices) {
      const sim = profile.devices.find((p) => p.name === d.name)!;
      expect(sim.port).toBe(d.port);
      const auth = config.snmp.auths[d.auth]!;
      if (auth.version === '3') {
        const u = sim.v3_users.find((x) => x.username === auth.username)!;
        expect(u).toBeDefined();
        expect(u.auth_protocol).toBe(auth.auth_protocol);
        expect(u.auth_password).toBe(auth.auth_password?.reveal());
        expect(u.priv_protocol).toBe(auth.priv_protocol);
        expect(u.priv_password).toBe(auth.priv_password?.reveal());
      } else {
        expect(sim.community).toBe(auth.community?.reveal());
      }
    }
  });
});
