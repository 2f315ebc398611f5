import { type Connection, type InferSchemaType, Schema } from 'mongoose';
import { WHITESPACE_CLASS } from '../shared/text.ts';

export const TAG_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** What a request may send as a tag name: either case, surrounding whitespace (trimmed away). */
export const TAG_NAME_INPUT = new RegExp(
  `^${WHITESPACE_CLASS}*[A-Za-z0-9][A-Za-z0-9_-]{0,31}${WHITESPACE_CLASS}*$`,
);
export const MAX_TAGS_PER_POST = 10;

/**
 * One document per tag with the number of posts that carry it, kept by atomic $inc whenever a
 * post gains or loses the tag. The tag names themselves live on the posts (an embedded array
 * instead of an association table); this collection only answers "which tags, how popular".
 */
export const tagSchema = new Schema(
  {
    name: { type: String, required: true, match: TAG_PATTERN, unique: true },
    postCount: { type: Number, required: true, default: 0 },
  },
  { collection: 'tags', versionKey: false, strict: 'throw', strictQuery: true },
);

// GET /api/tags: most used first, name as the tie-breaker for keyset pagination.
tagSchema.index({ postCount: -1, name: 1 });

export type TagFields = InferSchemaType<typeof tagSchema>;
export const tagModel = (connection: Connection) => connection.model('Tag', tagSchema);
export type TagModel = ReturnType<typeof tagModel>;

/**
 * Tags whose postCount a failed counter write may have left wrong, recorded for the reconciler
 * (src/tags/reconciler.ts), which recounts them from the posts and removes the record.
 */
export const tagRepairSchema = new Schema(
  {
    _id: { type: String, required: true },
    since: { type: Date, required: true },
  },
  { collection: 'tag_repairs', versionKey: false, strict: 'throw', strictQuery: true },
);

export const tagRepairModel = (connection: Connection) =>
  connection.model('TagRepair', tagRepairSchema);
export type TagRepairModel = ReturnType<typeof tagRepairModel>;

declare module '../db/connection.ts' {
  interface Models {
    Tag: TagModel;
    TagRepair: TagRepairModel;
  }
}
