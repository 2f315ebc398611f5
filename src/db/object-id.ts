import { Types } from 'mongoose';
import { AppError } from '../shared/errors.ts';

const HEX_ID = /^[0-9a-fA-F]{24}$/;

/**
 * An id for a query sent through the driver rather than a Mongoose query (hot reads, where
 * Mongoose's query building costs more CPU than the command itself). A malformed id fails as
 * Mongoose's cast would (the error handler's mapping of a CastError): 400 validation-failed, "Invalid value for <path>".
 */
export function toObjectId(id: string | Types.ObjectId, path = '_id'): Types.ObjectId {
  if (typeof id !== 'string') return id;
  if (!HEX_ID.test(id)) throw new AppError('validation-failed', `Invalid value for ${path}`);
  return new Types.ObjectId(id);
}
