import type { Config, SnmpAuthConfig } from '@bandwatch/core';

/** An snmp config section for tests: short timeout, no retries, small limits; `overrides` on top. */
export function snmpTestConfig(auths: Record<string, SnmpAuthConfig>, overrides: Partial<Config['snmp']> = {}): Config['snmp'] {
  return {
    timeout_ms: 500,
    retries: 0,
    port: 161,
    max_repetitions: 25,
    max_varbinds_per_pdu: 60,
    max_in_flight_per_device: 1,
    max_concurrent_requests: 10,
    fast_get: true,
    auths,
    ...overrides,
  };
}
