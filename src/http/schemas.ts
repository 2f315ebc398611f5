import { z } from 'zod';

/** A 24-hex-digit ObjectId, as it appears in URLs and JSON. */
export const objectIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{24}$/, 'must be a 24-character hexadecimal id')
  .meta({ example: '665f1c2b9d3e4a0012345678' });

// Ids in paths are lower-cased here, once: the domain compares them as strings (is this me?),
// and case must never change who an id names.
export const idParamsSchema = z.strictObject({ id: objectIdSchema.toLowerCase() });

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const pageQueryShape = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .meta({ description: `Page size, 1-${MAX_PAGE_SIZE}` }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .meta({ description: 'Opaque cursor from the previous page (nextCursor)' }),
};

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Cursor of the next page; null on the last page' }),
  });
}

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation-failed' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });
