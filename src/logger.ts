import { pino } from 'pino';

export type Logger = pino.Logger;

// pino's redaction paths are exact: `*` matches one level, so secrets are listed at the depths
// where our log lines can carry them (a request, an error, a logged object and one level below).
const SECRET_KEYS = ['password', 'newPassword', 'passwordHash', 'token', 'jwtSecret', 'uri'];
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

/**
 * JSON logs, one object per line, to stdout (or `destination`, which tests use to read them);
 * credentials are redacted wherever they appear in a log line.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Where the process's log lines go: stdout, or a stream a test reads (isTTY as a terminal's). */
export type LogOutput = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * The process's logger: pretty, coloured lines (pino-pretty) when the output is a terminal and the
 * format is auto, or when asked (`pretty`); JSON lines otherwise, for log collectors. Either way
 * the same redaction applies (pino redacts before the line reaches the prettifier). pino-pretty
 * is loaded only when used, so JSON logging costs nothing of it.
 */
export async function createProcessLogger(
  level: string,
  format: LogFormat,
  output: LogOutput = process.stdout,
): Promise<Logger> {
  const pretty = format === 'pretty' || (format === 'auto' && output.isTTY === true);
  if (!pretty) return createLogger(level, output === process.stdout ? undefined : output);
  const { default: pinoPretty } = await import('pino-pretty');
  const stream = pinoPretty({
    colorize: output.isTTY === true,
    destination: output,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return createLogger(level, stream);
}
