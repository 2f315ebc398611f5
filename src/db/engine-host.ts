// The process that runs a data folder's shared engine (spawned detached by local-engine.ts).
// Binding the data folder's socket makes it the only host there; each connection is a command
// using the engine, and once the last is gone (released, exited, killed: the kernel closes its
// connection) the host stops the engine and exits. It restarts an engine that dies under its
// users, with backoff, and gives up loudly, leaving engine.json for the next host to clean up.
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmbeddedEngine, type EngineKind, startEmbeddedEngine } from './embedded-engine.ts';
import * as shared from './engine-socket.ts';

/** Waits before each restart of an engine that exited; after the last one the host gives up. */
const RESTART_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
/** An engine that stayed up this long has recovered: the next exit starts the count again. */
const STABLE_MS = 60_000;
const IDLE = 'no command uses the engine any more';

const spec = JSON.parse(process.env.LOCAL_ENGINE_SPEC ?? '{}') as shared.HostSpec;
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const users = new Map<Socket, shared.Holder>();
let up = false;
let stopping: shared.Holder | undefined;
let startedAt = 0;
let restarts = 0;
let warning: string | undefined;
let hellos = 0;

const server = createServer(serve);
const bound = await shared.bindEngineSocket(server, spec.dataDir);
// The spawning command learns over IPC that it can connect (to this host or the one holding it).
if (process.send) {
  await new Promise((done) => process.send?.({ bound }, undefined, undefined, done));
}
if (!bound) process.exit(0);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void stop(signal));
}
let ready = start();
// The spawning command connects within milliseconds; one that died first leaves nobody to wait for.
setTimeout(() => {
  if (hellos === 0) void stop('no command connected within 30 s');
}, 30_000).unref();

function serve(socket: Socket): void {
  socket.on('error', () => {});
  shared.onMessages(socket, (message) => {
    if (message.type === 'hello') void welcome(socket, { ...message, since: now() });
    if (message.type === 'release') void release(socket);
  });
  socket.once('close', () => {
    if (users.delete(socket) && users.size === 0 && up) void stop(IDLE);
  });
}

async function welcome(socket: Socket, hello: shared.Holder): Promise<void> {
  if (stopping) {
    await shared.send(socket, { type: 'stopping', by: stopping });
    socket.end();
    return;
  }
  users.set(socket, hello);
  hellos += 1;
  // Not up after it was: the host is restarting an engine that died, not its starter starting it.
  const restarter = {
    pid: process.pid,
    command: 'engine host, restarting the engine',
    since: now(),
  };
  const by = startedAt > 0 ? restarter : spec.starter;
  if (!up) await shared.send(socket, { type: 'starting', by });
  if (!up && warning) await shared.send(socket, { type: 'warning', line: warning });
  const { uri } = await ready;
  const started = hello.pid === spec.starter.pid;
  const { kind: engine, port } = spec;
  await shared.send(socket, { type: 'ready', uri, engine, port, hostPid: process.pid, started });
}

async function start(): Promise<EmbeddedEngine> {
  await cleanUpAfterDeadHost();
  const engine = await startEngine().catch((error: Error) => {
    log(error.message.split('\n')[0] ?? String(error)); // the command reports this last line
    return process.exit(1);
  });
  log(
    `${spec.kind} ready at ${engine.uri}, started by pid ${spec.starter.pid} (${spec.starter.command})`,
  );
  return running(engine);
}

function startEngine(): Promise<EmbeddedEngine> {
  return startEmbeddedEngine({ engine: spec.kind, dataDir: spec.dataDir, port: spec.port, log });
}

/** Records the engine, watches for its exit, and stops it if every user left meanwhile. */
function running(engine: EmbeddedEngine): EmbeddedEngine {
  up = true;
  startedAt = Date.now();
  warning = undefined;
  shared.writeRecord({
    hostPid: process.pid,
    enginePid: engine.pid,
    engine: spec.kind,
    port: spec.port,
    uri: engine.uri,
    dataDir: spec.dataDir,
    startedAt: new Date(startedAt).toISOString(),
    startedBy: { pid: spec.starter.pid, command: spec.starter.command },
  });
  void engine.exited.then(() => {
    if (stopping) return;
    up = false;
    ready = restart(engine);
  });
  if (users.size === 0 && hellos > 0) void stop(IDLE); // they all left while it started
  return engine;
}

/**
 * The engine died under its users (killed, crashed, out of memory): start it again on the same
 * port and files, waiting longer before each try. An engine that keeps dying is given up on,
 * loudly, and the host exits 1 leaving its record, so that the next host warns about it.
 */
async function restart(dead: EmbeddedEngine): Promise<EmbeddedEngine> {
  if (Date.now() - startedAt > STABLE_MS) restarts = 0;
  await dead.stop().catch(() => {});
  while (restarts < RESTART_DELAYS_MS.length) {
    const delay = RESTART_DELAYS_MS[restarts++] ?? 0;
    log(
      `warning: the ${spec.kind} engine (pid ${dead.pid}) exited unexpectedly: restarting it in ${delay} ms (try ${restarts} of ${RESTART_DELAYS_MS.length})`,
    );
    await sleep(delay);
    try {
      const engine = await startEngine();
      log(`${spec.kind} restarted at ${engine.uri} (pid ${engine.pid})`);
      return running(engine);
    } catch (error) {
      log(`restart failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  log(
    `error: the ${spec.kind} engine did not stay up after ${restarts} restarts: giving up; its users get 503 database-unavailable until a command starts a new one (npm run db, or restart the app)`,
  );
  return process.exit(1);
}

async function release(socket: Socket): Promise<void> {
  const user = users.get(socket);
  users.delete(socket);
  if (users.size === 0) return stop(`released by pid ${user?.pid} (${user?.command})`, socket);
  const others = [...users.values()].map(({ pid, command }) => `pid ${pid} (${command})`);
  await shared.send(socket, { type: 'left', users: others.join(', ') });
  socket.end();
}

/** Keeps the socket bound until the engine is down: no other host may start one on its port. */
async function stop(reason: string, requester?: Socket): Promise<void> {
  if (stopping) return;
  stopping = { pid: process.pid, command: 'engine host', since: now() };
  log(`${reason}: stopping the engine`);
  await (await ready).stop();
  rmSync(join(spec.dataDir, 'engine.json'), { force: true });
  log('engine stopped');
  if (requester) await shared.send(requester, { type: 'stopped' });
  process.exit(0);
}

/** A host killed with -9, or one that gave up, left its record and maybe its engine. */
async function cleanUpAfterDeadHost(): Promise<void> {
  const dead = shared.readRecord(spec.dataDir);
  if (!dead) return;
  warning = `the ${dead.engine} engine recorded in ${join(spec.dataDir, 'engine.json')} is dead (host pid ${dead.hostPid}, started ${dead.startedAt} by pid ${dead.startedBy.pid} (${dead.startedBy.command}), port ${dead.port}; last line of ${join(spec.dataDir, shared.ENGINE_LOG)}: ${shared.lastLogLine(spec.dataDir)}): starting a new one`;
  log(`warning: ${warning}`);
  if (dead.enginePid) await killOrphan(dead.enginePid, dead.engine);
  rmSync(join(spec.dataDir, 'engine.json'), { force: true });
}

/** Not our child: its death is seen by polling its pid (SIGKILL after 10 s of SIGTERM). */
async function killOrphan(pid: number, kind: EngineKind): Promise<void> {
  for (let waited = 0; commandLineOf(pid).includes(kind); waited += 100) {
    try {
      if (waited === 0 || waited === 10_000) process.kill(pid, waited ? 'SIGKILL' : 'SIGTERM');
    } catch {
      // Gone in the meantime.
    }
    await sleep(100);
  }
}

/** Empty once the process is gone (or a zombie): a pid reused by another program never matches. */
function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function now(): string {
  return new Date().toISOString();
}
