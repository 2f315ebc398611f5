/**
 * The one error type of the domain. Codes are stable strings clients can rely on; the HTTP
 * layer maps them to status codes (src/http/error-handler.ts), the domain never sees HTTP.
 */
export type ErrorCode =
  | 'validation-failed'
  | 'invalid-cursor'
  | 'malformed-json'
  | 'malformed-body'
  | 'unauthenticated'
  | 'invalid-token'
  | 'invalid-credentials'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'user-not-found'
  | 'post-not-found'
  | 'username-taken'
  | 'email-taken'
  | 'conflict'
  | 'cannot-follow-self'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'too-many-requests'
  | 'headers-too-large'
  | 'database-unavailable'
  | 'overloaded'
  | 'migrations-pending'
  | 'indexes-missing'
  | 'internal';

export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details?: ErrorDetail[]) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}
