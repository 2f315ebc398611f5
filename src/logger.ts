import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON logs to stdout; credentials are redacted wherever they appear in a log line. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.passwordHash',
        '*.token',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
