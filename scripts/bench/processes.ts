import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { API_NODE_FLAGS } from '../../src/process/node-flags.ts';
import type { ProcessUsage, UsageMessage } from './serve.ts';

export interface ServerProcess {
  url: string;
  pid: number;
  /** Opens a measured window in the server (with a CPU profile written to `profile`). */
  startWindow(profile?: string): Promise<void>;
  /** Closes it: what the server process spent in the window, by its own counters. */
  stopWindow(): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

const here = new URL('.', import.meta.url).pathname;

/** Runs a TypeScript file under node (which strips the types itself): one process. */
export function spawnTs(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { ipc?: boolean; nodeFlags?: readonly string[] } = {},
): ChildProcess {
  return spawn(process.execPath, [...(options.nodeFlags ?? []), `${here}${file}`, ...args], {
    env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
}

/** Sends one message over the child's IPC channel and waits for the reply of type `reply`. */
function ask<T>(child: ChildProcess, message: UsageMessage, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; usage?: T }) => {
      if (m.type !== reply) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m.usage as T);
    };
    const onExit = () => {
      child.off('message', onMessage);
      reject(new Error(`server process exited while the bench waited for "${reply}"`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

/** Starts scripts/bench/serve.ts as `kind` and waits for the port it prints. */
export function startServer(
  kind: 'api' | 'baseline' | 'express',
  env: NodeJS.ProcessEnv,
): Promise<ServerProcess> {
  // Every server with the API's node flags (as npm start runs it), so that the layers compare
  // like with like.
  const child = spawnTs('serve.ts', [kind], env, { ipc: true, nodeFlags: API_NODE_FLAGS });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    child.once('exit', (code) =>
      reject(new Error(`${kind} server exited (${code}): ${stderr.trim().split('\n').at(-1)}`)),
    );
    lines.once('line', (line) => {
      const { port } = JSON.parse(line) as { port: number };
      // The app's own log lines (warnings) are not ours to parse; keep the pipe drained.
      child.stdout?.resume();
      resolve({
        url: `http://127.0.0.1:${port}`,
        pid: child.pid as number,
        startWindow: (profile) => ask<void>(child, { type: 'start', profile }, 'started'),
        stopWindow: () => ask<ProcessUsage>(child, { type: 'stop' }, 'usage'),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

function status(pid: number): { rss: number; hwm: number; name: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const name = /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '?';
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024, name };
  } catch {
    return undefined;
  }
}

function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the ppid follows the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const pending = [root];
  while (pending.length) {
    const pid = pending.pop() as number;
    found.push(pid);
    pending.push(...(parents.get(pid) ?? []));
  }
  return found;
}

/** Resident memory of a process and every descendant now, in bytes. */
export function treeRssBytes(root: number): number {
  return descendants(root).reduce((sum, pid) => sum + (status(pid)?.rss ?? 0), 0);
}

export interface MemoryPeak {
  /** Highest sum of resident memory over the whole process tree at one sample (bytes). */
  treePeakBytes: number;
  /** Highest peak (VmHWM) of any single process of the tree, and its name. */
  largestBytes: number;
  largestName: string;
}

/**
 * Samples a process tree's memory from /proc every 50 ms until stopped (Linux only). VmHWM is
 * the kernel's own high-water mark, so a single process's peak between samples is not missed.
 */
export function sampleMemory(root: number): { stop(): MemoryPeak } {
  const peak: MemoryPeak = { treePeakBytes: 0, largestBytes: 0, largestName: '' };
  const sample = () => {
    let sum = 0;
    for (const pid of descendants(root)) {
      const s = status(pid);
      if (!s) continue;
      sum += s.rss;
      if (s.hwm > peak.largestBytes) {
        peak.largestBytes = s.hwm;
        peak.largestName = s.name;
      }
    }
    peak.treePeakBytes = Math.max(peak.treePeakBytes, sum);
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Runs a command to completion while sampling its memory; rejects with its last stderr line. */
export function runMeasured(
  child: ChildProcess,
  label: string,
): Promise<{ seconds: number; stdout: string; memory: MemoryPeak }> {
  const started = performance.now();
  const memory = sampleMemory(child.pid as number);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      memory.stop();
      reject(new Error(`${label}: ${error.message}`));
    });
    child.once('exit', (code) => {
      const peak = memory.stop();
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout, memory: peak });
      else {
        const why = stderr.trim().split('\n').at(-1) ?? '';
        reject(new Error(`${label} exited with ${code}: ${why}`));
      }
    });
  });
}
