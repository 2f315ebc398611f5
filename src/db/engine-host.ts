// The process that runs a data folder's shared engine (started detached by local-engine.ts).
// It writes the engine record once the engine answers, restarts the engine when it exits
// unexpectedly (with backoff, giving up after a few tries), stops it on SIGTERM (sent by the
// last command that releases it) and stops it by itself when every user died (kill -9).
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, processStartTime } from '../process/pid.ts';
import { type EmbeddedEngine, type EngineKind, startEmbeddedEngine } from './embedded-engine.ts';
import { liveUsers, lockDataDir, removeRecord, type Unlock, writeRecord } from './engine-record.ts';

interface HostSpec {
  kind: EngineKind;
  dataDir: string;
  port: number;
  command: string;
  startedBy: number;
}

/** Waits before each restart of an engine that exited; after the last one the host gives up. */
const RESTART_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
/** An engine that stayed up this long has recovered: the next exit starts the count again. */
const STABLE_MS = 60_000;

const spec = JSON.parse(process.env.LOCAL_ENGINE_SPEC ?? '{}') as HostSpec;
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const startEngine = () =>
  startEmbeddedEngine({ engine: spec.kind, dataDir: spec.dataDir, port: spec.port, log });

let engine: EmbeddedEngine = await startEngine().catch((error: Error) => {
  // The last line of the log is what the starting command reports.
  log(error.message.split('\n')[0] ?? String(error));
  process.exit(1);
});
let startedAt = Date.now();
let stopping = false;
let restarting = false;
let restarts = 0;

/**
 * `unlock`: the idle check holds the data folder's lock while stopping, so that no command
 * attaches to a dying engine; a SIGTERM comes from a command that holds it already.
 */
async function stop(reason: string, code: number, unlock?: Unlock): Promise<void> {
  if (stopping) {
    await unlock?.();
    return;
  }
  stopping = true;
  clearInterval(watch);
  log(`${reason}: stopping the engine`);
  try {
    await engine.stop();
    removeRecord(spec.dataDir, process.pid);
  } finally {
    await unlock?.();
  }
  log('engine stopped');
  process.exit(code);
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void stop(signal, 0));
}

function record(): void {
  writeRecord(spec.dataDir, {
    hostPid: process.pid,
    hostStart: processStartTime(process.pid),
    enginePid: engine.pid,
    engine: spec.kind,
    port: spec.port,
    uri: engine.uri,
    dataDir: spec.dataDir,
    startedAt: new Date(startedAt).toISOString(),
    startedBy: { pid: spec.startedBy, command: spec.command },
  });
}

record();
log(`${spec.kind} ready at ${engine.uri}, started by pid ${spec.startedBy} (${spec.command})`);

let idleChecks = 0;
const watch = setInterval(() => {
  if (restarting || stopping) return;
  if (engine.pid && !processAlive(engine.pid)) {
    void restart();
    return;
  }
  idleChecks = liveUsers(spec.dataDir).length === 0 ? idleChecks + 1 : 0;
  // Two checks a second apart: a user whose file is being replaced is not mistaken for none.
  if (idleChecks >= 2) void stopIfStillIdle();
}, 1000);

/**
 * The engine died under its users (killed, crashed, out of memory): start it again on the same
 * port and files, waiting longer before each try. An engine that keeps dying is given up on,
 * loudly, and the host exits 1 leaving its record, so that the next command warns that the
 * recorded engine is dead before it starts one.
 */
async function restart(): Promise<void> {
  restarting = true;
  const dead = engine.pid;
  if (Date.now() - startedAt > STABLE_MS) restarts = 0;
  while (restarts < RESTART_DELAYS_MS.length) {
    const delay = RESTART_DELAYS_MS[restarts] ?? 0;
    restarts += 1;
    log(
      `warning: the ${spec.kind} engine (pid ${dead}) exited unexpectedly: restarting it in ${delay} ms (try ${restarts} of ${RESTART_DELAYS_MS.length})`,
    );
    await sleep(delay);
    if (stopping) return;
    await engine.stop().catch(() => {});
    try {
      const next = await startEngine();
      if (stopping) {
        await next.stop();
        return;
      }
      engine = next;
      startedAt = Date.now();
      record();
      log(`${spec.kind} restarted at ${engine.uri} (pid ${engine.pid})`);
      restarting = false;
      return;
    } catch (error) {
      log(`restart failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  log(
    `error: the ${spec.kind} engine did not stay up after ${restarts} restarts: giving up; its users get 503 database-unavailable until a command starts a new one (npm run db, or restart the app)`,
  );
  stopping = true;
  clearInterval(watch);
  await engine.stop().catch(() => {});
  process.exit(1);
}

async function stopIfStillIdle(): Promise<void> {
  const unlock = await lockDataDir(spec.dataDir, { wait: false, log });
  if (!unlock) return; // a command is attaching or releasing: look again next time
  if (liveUsers(spec.dataDir).length > 0) await unlock();
  else await stop('no process uses the engine any more', 0, unlock);
}
