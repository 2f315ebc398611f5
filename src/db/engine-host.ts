// The process that runs a data folder's shared engine (spawned detached by local-engine.ts).
// Binding the data folder's socket makes it the only host there; each connection is a command
// using the engine, and once the last one is gone (released, exited, killed: the kernel closes
// its connection) the host stops the engine and exits. It restarts an engine that dies under
// its users, with backoff, and gives up loudly, leaving engine.json for the next host.
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, processStartTime } from '../process/pid.ts';
import {
  type EmbeddedEngine,
  type EngineKind,
  resolveEngineKind,
  startEmbeddedEngine,
} from './embedded-engine.ts';
import {
  bindEngineSocket,
  type EngineMessage,
  type Holder,
  lastLogLine,
  onMessages,
  readRecord,
  removeRecord,
  send,
  writeRecord,
} from './engine-record.ts';

interface HostSpec {
  engine: 'auto' | EngineKind;
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
const starter: Holder = {
  pid: spec.startedBy,
  command: spec.command,
  since: new Date().toISOString(),
};
/** The commands connected, and whether each has been told the engine is ready. */
const users = new Map<Socket, { hello: Holder; told: boolean }>();
/** What a command that connects while the engine starts is told first (the warnings). */
const startLines: EngineMessage[] = [];
let state: 'starting' | 'ready' | 'restarting' | 'stopping' = 'starting';
let stopper = starter;
let kind: EngineKind;
let engine: EmbeddedEngine | undefined;
let startedAt = Date.now();
let restarting: Promise<void> | undefined;
let restartsSoFar = 0;

const server = createServer(serve);
const bound = await bindEngineSocket(server, spec.dataDir);
await tellSpawner(bound ? 'bound' : 'held');
if (!bound) process.exit(0);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void stop(signal));
}
await start();

/** Over IPC: the spawning command connects to the socket once this host, or another, holds it. */
function tellSpawner(type: 'bound' | 'held'): Promise<void> {
  return new Promise((done) => {
    if (!process.send) return done();
    process.send({ type }, undefined, undefined, () => done());
  });
}

function serve(socket: Socket): void {
  socket.on('error', () => {});
  onMessages(socket, (message) => {
    if (message.type === 'hello') welcome(socket, { ...message, since: new Date().toISOString() });
    if (message.type === 'release') void release(socket);
  });
  socket.once('close', () => {
    if (users.delete(socket)) stopIfUnused();
  });
}

function welcome(socket: Socket, hello: Holder): void {
  if (state === 'stopping') {
    send(socket, { type: 'stopping', by: stopper });
    socket.end();
    return;
  }
  users.set(socket, { hello, told: false });
  if (state === 'ready') {
    tellReady();
    return;
  }
  send(socket, { type: 'starting', by: starter });
  for (const line of startLines) send(socket, line);
}

function broadcast(message: EngineMessage): void {
  startLines.push(message);
  for (const socket of users.keys()) send(socket, message);
}

function tellReady(): void {
  if (!engine) return;
  const { uri } = engine;
  for (const [socket, user] of users) {
    if (user.told) continue;
    const started = user.hello.pid === spec.startedBy;
    send(socket, {
      type: 'ready',
      uri,
      engine: kind,
      port: spec.port,
      hostPid: process.pid,
      started,
    });
    user.told = true;
  }
}

async function start(): Promise<void> {
  await cleanUpAfterDeadHost();
  try {
    kind = await resolveEngineKind(spec.engine, (line) => {
      log(line);
      broadcast({ type: 'log', line });
    });
    engine = await startEngine();
  } catch (error) {
    const line = (error as Error).message.split('\n')[0] ?? String(error);
    log(line);
    broadcast({ type: 'failed', line });
    return exitAfterWrites(1);
  }
  log(`${kind} ready at ${engine.uri}, started by pid ${spec.startedBy} (${spec.command})`);
  becomeReady();
}

function startEngine(): Promise<EmbeddedEngine> {
  return startEmbeddedEngine({ engine: kind, dataDir: spec.dataDir, port: spec.port, log });
}

function becomeReady(): void {
  if (!engine) return;
  startedAt = Date.now();
  writeRecord(spec.dataDir, {
    hostPid: process.pid,
    hostStart: processStartTime(process.pid),
    enginePid: engine.pid,
    engine: kind,
    port: spec.port,
    uri: engine.uri,
    dataDir: spec.dataDir,
    startedAt: new Date(startedAt).toISOString(),
    startedBy: { pid: spec.startedBy, command: spec.command },
  });
  state = 'ready';
  tellReady();
  const current = engine;
  void current.exited.then(() => {
    if (state === 'ready' && engine === current) restarting = restart(current.pid);
  });
  stopIfUnused();
}

/**
 * The engine died under its users (killed, crashed, out of memory): start it again on the same
 * port and files, waiting longer before each try. An engine that keeps dying is given up on,
 * loudly, and the host exits 1 leaving its record, so that the next host warns about it.
 */
async function restart(dead: number | undefined): Promise<void> {
  state = 'restarting';
  let tries = Date.now() - startedAt > STABLE_MS ? 0 : restartsSoFar;
  for (; tries < RESTART_DELAYS_MS.length; tries++) {
    const delay = RESTART_DELAYS_MS[tries] ?? 0;
    log(
      `warning: the ${kind} engine (pid ${dead}) exited unexpectedly: restarting it in ${delay} ms (try ${tries + 1} of ${RESTART_DELAYS_MS.length})`,
    );
    await sleep(delay);
    if (isStopping()) return;
    await engine?.stop().catch(() => {});
    try {
      const next = await startEngine();
      if (isStopping()) {
        await next.stop();
        return;
      }
      engine = next;
      restartsSoFar = tries + 1;
      log(`${kind} restarted at ${engine.uri} (pid ${engine.pid})`);
      return becomeReady();
    } catch (error) {
      log(`restart failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  log(
    `error: the ${kind} engine did not stay up after ${tries} restarts: giving up; its users get 503 database-unavailable until a command starts a new one (npm run db, or restart the app)`,
  );
  state = 'stopping';
  process.exit(1);
}

/** A function, not a test of `state`: the state changes while a restart awaits. */
function isStopping(): boolean {
  return state === 'stopping';
}

function stopIfUnused(): void {
  if (users.size > 0) return;
  if (state === 'ready' || state === 'restarting') void stop('no command uses the engine any more');
}

async function release(socket: Socket): Promise<void> {
  const user = users.get(socket);
  users.delete(socket);
  if (users.size > 0) {
    const others = [...users.values()].map(({ hello }) => `pid ${hello.pid} (${hello.command})`);
    send(socket, { type: 'left', users: others.join(', ') });
    socket.end();
    return;
  }
  if (user) stopper = user.hello;
  await stop(`released by pid ${stopper.pid} (${stopper.command})`, socket);
}

/** Keeps the socket bound until the engine is down: no other host may start one on its port. */
async function stop(reason: string, requester?: Socket): Promise<void> {
  if (state === 'stopping') return;
  state = 'stopping';
  log(`${reason}: stopping the engine`);
  await restarting;
  await engine?.stop();
  removeRecord(spec.dataDir);
  log('engine stopped');
  if (requester) send(requester, { type: 'stopped' });
  await exitAfterWrites(0, requester);
}

async function exitAfterWrites(code: number, requester?: Socket): Promise<void> {
  const sockets = requester ? [requester, ...users.keys()] : [...users.keys()];
  await Promise.all(sockets.map((socket) => new Promise<void>((done) => socket.end(done))));
  process.exit(code);
}

/** A host killed with -9, or one that gave up, left its record and maybe its engine. */
async function cleanUpAfterDeadHost(): Promise<void> {
  const record = readRecord(spec.dataDir);
  if (!record) return;
  const warning = `the ${record.engine} engine recorded in ${join(spec.dataDir, 'engine.json')} is dead (host pid ${record.hostPid}, started ${record.startedAt} by pid ${record.startedBy.pid} (${record.startedBy.command}), not answering on port ${record.port}; last line of ${join(spec.dataDir, 'engine.log')}: ${lastLogLine(spec.dataDir)}): starting a new one`;
  log(`warning: ${warning}`);
  startLines.push({ type: 'warning', line: warning });
  if (record.enginePid && commandLineOf(record.enginePid).includes(record.engine)) {
    await killAndWait(record.enginePid);
  }
  removeRecord(spec.dataDir);
}

/** Not our child: its death is seen by polling its pid. */
async function killAndWait(pid: number): Promise<void> {
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone in the meantime.
    }
  };
  kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (processAlive(pid)) {
    if (Date.now() > deadline) kill('SIGKILL');
    await sleep(100);
  }
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
