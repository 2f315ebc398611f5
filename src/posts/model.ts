import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

export const POST_BODY_MAX = 140;

export const postSchema = new Schema(
  {
    body: { type: String, required: true, trim: true, minlength: 1, maxlength: POST_BODY_MAX },
    author: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    /** UTC creation time (BSON dates are UTC); the sort key of every listing. */
    timestamp: { type: Date, required: true, default: () => new Date() },
  },
  { collection: 'posts', versionKey: false, strict: 'throw', strictQuery: true },
);

// One user's posts newest first, and the global newest-first listing. _id breaks timestamp ties
// so that keyset pagination has a total order.
postSchema.index({ author: 1, timestamp: -1, _id: -1 });
postSchema.index({ timestamp: -1, _id: -1 });

export type PostFields = InferSchemaType<typeof postSchema>;
export type PostRecord = PostFields & { _id: Types.ObjectId };
export const postModel = (connection: Connection) => connection.model('Post', postSchema);
export type PostModel = ReturnType<typeof postModel>;
