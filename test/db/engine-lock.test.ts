import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bindEngineSocket,
  connectHost,
  type EngineMessage,
  onMessages,
  send,
} from '../../src/db/engine-socket.ts';
import { useLocalEngine } from '../../src/db/local-engine.ts';

const close = (server: Server) => new Promise((done) => server.close(done));
const other = { pid: 4242, command: 'npm run db', since: '2026-12-02T10:00:00.000Z' };
const WAITING =
  /^waiting for another command that is starting or stopping the engine: pid 4242 \(npm run db\) since 2026-12-02T10:00:00\.000Z$/;

// The data folder's socket as the engine's commands and hosts share it (src/db/engine-socket.ts):
// a fake host bound on it answers hellos the way `answer` says, as a real host starting its engine.
describe('the engine socket of a data folder, while a host holds it', () => {
  let dir: string;
  let host: Server;
  let hellos: Socket[];
  let answer: (socket: Socket, message: EngineMessage) => void;
  const useEngine = (log: (line: string) => void, signal?: AbortSignal) =>
    useLocalEngine({ engine: 'ferretdb', dataDir: dir, port: 1, command: 'migrate', log, signal });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engine-lock-'));
    hellos = [];
    answer = (socket) => send(socket, { type: 'starting', by: other });
    host = createServer((socket) =>
      onMessages(socket, (message) => {
        if (message.type === 'hello') hellos.push(socket);
        answer(socket, message);
      }),
    );
    expect(await bindEngineSocket(host, dir)).toBe(true);
  });
  afterEach(async () => {
    for (const socket of hellos) socket.destroy();
    if (host.listening) await close(host);
    await rm(dir, { recursive: true, force: true });
  });

  it('a second host cannot bind it; once the first is gone, one can', async () => {
    const second = createServer();
    expect(await bindEngineSocket(second, dir)).toBe(false);

    await close(host);
    expect(await bindEngineSocket(second, dir)).toBe(true);
    await close(second);
  });

  it('a command says once whom it waits for (across a stopping host), then gets the engine', async () => {
    answer = (socket) => {
      // The first host is stopping its engine; the command retries and finds one starting.
      if (hellos.length === 1) socket.end(`${JSON.stringify({ type: 'stopping', by: other })}\n`);
      else send(socket, { type: 'starting', by: other });
    };
    const lines: string[] = [];
    const using = useEngine((line) => lines.push(line));
    await expect.poll(() => hellos.length, { timeout: 10_000 }).toBe(2);
    expect(lines.filter((line) => line.startsWith('waiting'))).toEqual([
      expect.stringMatching(WAITING),
    ]);

    const [, socket] = hellos;
    if (!socket) throw new Error('no second hello');
    answer = (peer, message) => {
      if (message.type === 'release')
        peer.end(`${JSON.stringify({ type: 'left', users: 'pid 4242 (npm run db)' })}\n`);
    };
    send(socket, {
      type: 'ready',
      uri: 'mongodb://127.0.0.1:1/',
      engine: 'ferretdb',
      port: 1,
      hostPid: 4242,
      started: false,
    });
    const engine = await using;
    await engine.release();

    expect(engine.uri).toBe('mongodb://127.0.0.1:1/');
    expect(lines.slice(1)).toEqual([
      'using the ferretdb engine already running at mongodb://127.0.0.1:1/',
      'database engine left running: still used by pid 4242 (npm run db)',
    ]);
  });

  it('a connection that writes something other than its messages is hung up on; the host serves on', async () => {
    const stranger = await connectHost(dir);
    if (!stranger) throw new Error('the host did not accept');
    stranger.write('GET / HTTP/1.1\r\n\r\n');
    await new Promise((closed) => stranger.once('close', closed));

    const lines: string[] = [];
    const abort = new AbortController();
    const waiting = useEngine((line) => lines.push(line), abort.signal);
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1);
    expect(lines[0]).toMatch(WAITING);
    abort.abort(new Error('done'));
    await expect(waiting).rejects.toThrow('done');
  });

  it('a host that does not answer (stopped with SIGSTOP, wedged) fails the command within 10 s, saying so', async () => {
    answer = () => {};
    const started = Date.now();
    await expect(useEngine(() => {})).rejects.toThrow(/the engine host did not answer within 10 s/);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 20_000);

  it('a host that says it is starting but never ready fails the command after readyMs, saying so', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const waiting = useLocalEngine({
      engine: 'ferretdb',
      dataDir: dir,
      port: 1,
      command: 'migrate',
      log: (line) => lines.push(line),
      readyMs: 1_000,
    });
    await expect(waiting).rejects.toThrow(/the engine did not become ready within 1 s/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(lines).toEqual([expect.stringMatching(WAITING)]);
  });

  it('a wait ends with the reason of the command’s abort (a Ctrl-C)', async () => {
    const abort = new AbortController();
    const waiting = useEngine(() => abort.abort(new Error('interrupted by SIGINT')), abort.signal);

    await expect(waiting).rejects.toThrow('interrupted by SIGINT');
    await expect.poll(() => hellos[0]?.destroyed).toBe(true);
  });
});
