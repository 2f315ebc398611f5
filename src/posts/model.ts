import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';
import { codePointLength } from '../shared/text.ts';
import { MAX_TAGS_PER_POST, TAG_PATTERN } from '../tags/model.ts';

export const POST_BODY_MAX = 140;

export const postSchema = new Schema(
  {
    // Counted in code points, as the API and its document count: 80 emoji are 80 characters.
    body: {
      type: String,
      required: true,
      trim: true,
      minlength: 1,
      validate: {
        validator: (body: string) => codePointLength(body) <= POST_BODY_MAX,
        message: `at most ${POST_BODY_MAX} characters`,
      },
    },
    author: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    /** UTC creation time (BSON dates are UTC); the sort key of every listing. */
    timestamp: { type: Date, required: true, default: () => new Date() },
    /** Normalized tag names, embedded: the post and its tags come back in one read. */
    tags: {
      type: [{ type: String, match: TAG_PATTERN }],
      default: [],
      validate: {
        validator: (tags: string[]) => tags.length <= MAX_TAGS_PER_POST,
        message: `at most ${MAX_TAGS_PER_POST} tags`,
      },
    },
  },
  { collection: 'posts', versionKey: false, strict: 'throw', strictQuery: true },
);

// One user's posts newest first, and the global newest-first listing. _id breaks timestamp ties
// so that keyset pagination has a total order.
postSchema.index({ author: 1, timestamp: -1, _id: -1 });
postSchema.index({ timestamp: -1, _id: -1 });
// A tag's posts newest first (multikey: one index entry per tag of each post).
postSchema.index({ tags: 1, timestamp: -1, _id: -1 });

export type PostFields = InferSchemaType<typeof postSchema>;
export type PostRecord = PostFields & { _id: Types.ObjectId };
export const postModel = (connection: Connection) => connection.model('Post', postSchema);
export type PostModel = ReturnType<typeof postModel>;

declare module '../db/connection.ts' {
  interface Models {
    Post: PostModel;
  }
}
