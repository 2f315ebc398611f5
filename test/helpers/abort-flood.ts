// A client that sends requests and hangs up on them, from one loopback address, in a process
// of its own (as a hostile client is), so that the server under test shares no event loop with it.
//   node test/helpers/abort-flood.ts <port> <path> <sockets> <localAddress> <durationMs> <closeAfterMs>
// Keeps <sockets> requests going for <durationMs>: each is sent on a new connection and the
// connection closed <closeAfterMs> after it was sent, unless answered first; then another is
// sent. Prints `flooding` once the first request went out, then, at the end, one JSON line:
// {sent, closed, answered: {<status>: count}}.
import { request } from 'node:http';

const [port, path, sockets, localAddress, durationMs, closeAfterMs] = process.argv.slice(2);
const until = Date.now() + Number(durationMs);
const tally = { sent: 0, closed: 0, answered: {} as Record<string, number> };

function once(): Promise<void> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port: Number(port),
      path,
      localAddress,
      agent: false,
    });
    const timer = setTimeout(() => {
      tally.closed += 1;
      req.destroy();
    }, Number(closeAfterMs));
    req.on('response', (res) => {
      clearTimeout(timer);
      const status = String(res.statusCode);
      tally.answered[status] = (tally.answered[status] ?? 0) + 1;
      res.resume();
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve();
    });
    req.on('close', () => resolve());
    req.end();
    tally.sent += 1;
    if (tally.sent === 1) console.log('flooding');
  });
}

async function worker(): Promise<void> {
  while (Date.now() < until) await once();
}

await Promise.all(Array.from({ length: Number(sockets) }, worker));
console.log(JSON.stringify(tally));
