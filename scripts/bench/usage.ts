import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';

/**
 * What a server process spent over one measured window, read by the process itself (not from
 * `ps`): its CPU time (user + system), its event loop's utilisation, its resident memory, and
 * the requests it received, so that the cost per request does not depend on how fast the
 * database answered.
 */
export interface ProcessUsage {
  requests: number;
  /** User + system CPU time of the whole process over the window, in microseconds. */
  cpuMicros: number;
  userMicros: number;
  systemMicros: number;
  /** CPU time per request received in the window, in microseconds. */
  cpuMicrosPerRequest: number;
  /** Share of the window the event loop was busy (0..1). */
  eventLoopUtilization: number;
  /**
   * The process's resident-memory high-water mark (getrusage's maxrss) when the window closed:
   * its peak up to and under this load. Not sampled: reading /proc every few milliseconds
   * costs more CPU than a request on a loaded machine, and would be counted against it.
   */
  maxRssBytes: number;
  seconds: number;
  /** Where the CPU profile of the window was written, when one was asked for. */
  profile?: string;
}

/** Messages the bench sends a server process over its IPC channel. */
export type UsageMessage = { type: 'start'; profile?: string } | { type: 'stop' };

/**
 * Answers the bench's start/stop messages with the process's own counters over the window in
 * between. `profile` (a file name) also records a V8 CPU profile of the window, through the
 * inspector in this process: one profile per endpoint, without restarting the server.
 */
export function installUsageProbe(server: Server): void {
  if (!process.send) return;
  let requests = 0;
  server.on('request', () => {
    requests += 1;
  });
  let window:
    | {
        requests: number;
        cpu: NodeJS.CpuUsage;
        elu: ReturnType<typeof performance.eventLoopUtilization>;
        started: number;
        profile?: { session: Session; file: string };
      }
    | undefined;
  process.on('message', async (message: UsageMessage) => {
    if (message.type === 'start') {
      let profile: { session: Session; file: string } | undefined;
      if (message.profile) {
        const session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        // 100 µs between samples (V8's default is 1 ms): enough samples in a few seconds.
        await session.post('Profiler.setSamplingInterval', { interval: 100 });
        await session.post('Profiler.start');
        profile = { session, file: message.profile };
      }
      window = {
        requests,
        cpu: process.cpuUsage(),
        elu: performance.eventLoopUtilization(),
        started: performance.now(),
        profile,
      };
      process.send?.({ type: 'started' });
      return;
    }
    if (message.type === 'stop' && window) {
      const w = window;
      window = undefined;
      const cpu = process.cpuUsage(w.cpu);
      const elu = performance.eventLoopUtilization(w.elu);
      const seconds = (performance.now() - w.started) / 1000;
      const served = requests - w.requests;
      let profile: string | undefined;
      if (w.profile) {
        const { profile: data } = await w.profile.session.post('Profiler.stop');
        w.profile.session.disconnect();
        writeFileSync(w.profile.file, JSON.stringify(data));
        profile = w.profile.file;
      }
      const usage: ProcessUsage = {
        requests: served,
        cpuMicros: cpu.user + cpu.system,
        userMicros: cpu.user,
        systemMicros: cpu.system,
        cpuMicrosPerRequest: served > 0 ? (cpu.user + cpu.system) / served : 0,
        eventLoopUtilization: elu.utilization,
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        seconds,
        profile,
      };
      process.send?.({ type: 'usage', usage });
    }
  });
}
