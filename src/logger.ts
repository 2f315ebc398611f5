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

/** A connection string without its user name and password, for log lines. */
export function redactUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1[redacted]@');
}
