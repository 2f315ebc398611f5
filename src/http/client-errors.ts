import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { statusByCode } from './error-handler.ts';

function jsonResponse(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

const HEADERS_TOO_LARGE = jsonResponse(
  statusByCode['headers-too-large'],
  'Request Header Fields Too Large',
  'headers-too-large',
  'The request headers are larger than the server accepts (16 KB in all)',
);
const NOT_HTTP = jsonResponse(
  statusByCode['validation-failed'],
  'Bad Request',
  'validation-failed',
  'The request is not valid HTTP/1.1',
);
// A client that never finished sending its request: Node's own answer, kept.
const TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

function answerTo(code: string | undefined): string | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return HEADERS_TOO_LARGE;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return TIMED_OUT;
  if (code?.startsWith('HPE_')) return NOT_HTTP;
  return undefined;
}

/**
 * Requests Node refuses before Express sees them, answered in the API's JSON error shape instead
 * of Node's bare status line (what Node does otherwise, in the same cases): a header block over
 * Node's limit (16 KB, --max-http-header-size) is 431 headers-too-large; bytes that are not
 * HTTP are 400. There is no request yet, so no X-Request-Id; the connection is closed.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // Node's own rule: answer unless a response on this (kept-alive) connection has begun.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    const answer = socket.writable && !inFlight?.headersSent ? answerTo(error.code) : undefined;
    if (!answer) {
      socket.destroy();
      return;
    }
    // Answer, then read and drop what the client is still sending: closing with unread bytes
    // would reset the connection, and the client would lose the answer. Bounded by a timeout.
    socket.on('data', () => {});
    socket.resume();
    socket.setTimeout(5000, () => socket.destroy());
    socket.end(answer);
  });
}
