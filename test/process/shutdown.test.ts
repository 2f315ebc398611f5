import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.ts';
import { createShutdown } from '../../src/process/shutdown.ts';

/** A shutdown whose one closer waits until released, with its log lines and exit codes. */
function harness() {
  const lines: string[] = [];
  const note = (msg: unknown, text?: string) => lines.push(String(text ?? msg));
  const logger = { info: note, warn: note, error: note, fatal: note } as unknown as Logger;
  const exits: number[] = [];
  const shutdown = createShutdown({ logger, timeoutMs: 60_000, exit: (code) => exits.push(code) });
  let release = () => {};
  shutdown.onShutdown(
    'http server',
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  );
  const process = new EventEmitter();
  shutdown.handleProcessEvents(process as unknown as NodeJS.Process);
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { shutdown, process, lines, exits, release: () => release(), settle };
}

describe('graceful shutdown and signals', () => {
  it('a second signal exits 1 at once', async () => {
    const h = harness();
    h.process.emit('SIGTERM');
    await h.settle();
    expect(h.exits).toEqual([]);
    h.process.emit('SIGINT');
    await h.settle();
    expect(h.exits).toEqual([1]);
    expect(h.lines).toContain('SIGINT during shutdown: exiting now');
  });

  it('the first signal after a shutdown begun for another cause (npm gone) joins it', async () => {
    // `kill -TERM -<pgid>` of `npm start`: npm exits, and the parent watch can begin the
    // shutdown before the app handles its own SIGTERM.
    const h = harness();
    void h.shutdown.begin('npm (parent process 1234) exited', 0);
    await h.settle();
    h.process.emit('SIGTERM');
    await h.settle();
    expect(h.exits).toEqual([]);
    expect(h.lines).toContain('SIGTERM: already shutting down (a second signal exits at once)');
    h.release();
    await h.settle();
    expect(h.exits).toEqual([0]);
  });

  it('after a shutdown begun for another cause, the second signal still exits at once', async () => {
    const h = harness();
    void h.shutdown.begin('npm (parent process 1234) exited', 0);
    h.process.emit('SIGTERM');
    h.process.emit('SIGTERM');
    await h.settle();
    expect(h.exits).toEqual([1]);
  });
});
