// A client that floods the API from one loopback address, in a process of its own (as an
// abusive client is), so that the server under test shares no event loop with it.
//   node test/helpers/flood.ts <port> <path> <concurrency> <localAddress> <durationMs>
// Keeps <concurrency> requests in flight for <durationMs>: a request that is answered is sent
// again at once (a client that ignores Retry-After). Prints `flooding` once the first answer is
// back, then one JSON line per answer: {status, retryAfter, code, items, ms, at}
// (`at`: the wall clock when the answer was complete).
import { request } from 'node:http';

const [port, path, concurrency, localAddress, durationMs] = process.argv.slice(2);
const until = Date.now() + Number(durationMs);
let announced = false;

function once(): Promise<void> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: Number(port), path, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (!announced) {
            announced = true;
            console.log('flooding');
          }
          console.log(
            JSON.stringify({
              status: res.statusCode,
              retryAfter: res.headers['retry-after'],
              code: body.error?.code,
              items: body.items?.length,
              ms: Math.round(performance.now() - started),
              at: Date.now(),
            }),
          );
          resolve();
        });
      },
    );
    req.on('error', (error) => {
      console.log(JSON.stringify({ status: 0, error: error.message }));
      resolve();
    });
    req.end();
  });
}

async function worker(): Promise<void> {
  while (Date.now() < until) await once();
}

await Promise.all(Array.from({ length: Number(concurrency) }, worker));
