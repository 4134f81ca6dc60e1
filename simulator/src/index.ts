import type { Logger } from '@bandwatch/core';
import { startControlApi } from './controlApi';
import { loadProfile, type SimProfile } from './profile';
import { SimDevice } from './simDevice';

export { loadProfile, parseProfile, parseProfileText, ProfileError, expandInterfaces } from './profile';
export type { SimProfile, SimDeviceProfile, SimInterfaceProfile } from './profile';
export { SimDevice, SimControlError } from './simDevice';
export type { TrafficModel } from './trafficModel';
export { octetsUntil, rateMbpsAt } from './trafficModel';

export interface RunningSimulator {
  devices: Array<{ name: string; port: number }>;
  /** Base URL of the fault-injection API (see controlApi.ts). */
  controlUrl: string;
  /** Direct access for in-process tests and benchmarks. */
  simDevices: SimDevice[];
  stop(): Promise<void>;
}

/** Starts every device of the profile (port 0 picks a free one) and the control API (port 0 likewise). */
export async function startSimulator(profile: SimProfile, options: { logger: Logger; controlPort?: number }): Promise<RunningSimulator> {
  const log = options.logger.child({ component: 'simulator' });
  const devices = profile.devices.map((p) => new SimDevice(p, log));
  const started: SimDevice[] = [];
  try {
    for (const d of devices) {
      await d.start();
      started.push(d);
    }
    const control = await startControlApi(devices, options.controlPort ?? 0, log);
    log.info({ devices: devices.map((d) => `${d.name}@127.0.0.1:${d.port}`), control: control.url }, 'simulator running');
    return {
      devices: devices.map((d) => ({ name: d.name, port: d.port })),
      controlUrl: control.url,
      simDevices: devices,
      async stop() {
        await control.close();
        await Promise.all(devices.map((d) => d.stop()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((d) => d.stop()));
    throw err;
  }
}

/** Runs the simulator from a profile file until `signal` aborts (the `bandwatch simulator` command). */
export async function runSimulator(options: { profileFile: string; controlPort?: number; logger: Logger; signal: AbortSignal }): Promise<void> {
  const sim = await startSimulator(loadProfile(options.profileFile), { logger: options.logger, controlPort: options.controlPort });
  try {
    if (!options.signal.aborted) {
      await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } finally {
    await sim.stop();
  }
}
