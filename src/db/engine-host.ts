// The process that runs a data folder's shared engine (started detached by local-engine.ts).
// It writes the engine record once the engine answers, stops the engine on SIGTERM (sent by the
// last command that releases it) and stops it by itself when every user died (kill -9).
import { processAlive, processStartTime } from '../process/pid.ts';
import { type EngineKind, startEmbeddedEngine } from './embedded-engine.ts';
import { liveUsers, lockDataDir, removeRecord, type Unlock, writeRecord } from './engine-record.ts';

interface HostSpec {
  kind: EngineKind;
  dataDir: string;
  port: number;
  command: string;
  startedBy: number;
}

const spec = JSON.parse(process.env.LOCAL_ENGINE_SPEC ?? '{}') as HostSpec;
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

const engine = await startEmbeddedEngine({
  engine: spec.kind,
  dataDir: spec.dataDir,
  port: spec.port,
  log,
}).catch((error: Error) => {
  // The last line of the log is what the starting command reports.
  log(error.message.split('\n')[0] ?? String(error));
  process.exit(1);
});
let stopping = false;

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

writeRecord(spec.dataDir, {
  hostPid: process.pid,
  hostStart: processStartTime(process.pid),
  enginePid: engine.pid,
  engine: spec.kind,
  port: spec.port,
  uri: engine.uri,
  dataDir: spec.dataDir,
  startedAt: new Date().toISOString(),
  startedBy: { pid: spec.startedBy, command: spec.command },
});
log(`${spec.kind} ready at ${engine.uri}, started by pid ${spec.startedBy} (${spec.command})`);

let idleChecks = 0;
const watch = setInterval(() => {
  if (engine.pid && !processAlive(engine.pid)) {
    void stop('the engine process exited', 1);
    return;
  }
  idleChecks = liveUsers(spec.dataDir).length === 0 ? idleChecks + 1 : 0;
  // Two checks a second apart: a user whose file is being replaced is not mistaken for none.
  if (idleChecks >= 2) void stopIfStillIdle();
}, 1000);

async function stopIfStillIdle(): Promise<void> {
  const unlock = await lockDataDir(spec.dataDir, { wait: false, log });
  if (!unlock) return; // a command is attaching or releasing: look again next time
  if (liveUsers(spec.dataDir).length > 0) await unlock();
  else await stop('no process uses the engine any more', 0, unlock);
}
