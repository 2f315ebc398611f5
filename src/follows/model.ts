import { type Connection, type InferSchemaType, Schema } from 'mongoose';

/**
 * The tutorial's self-referential `followers` association table, as a collection of its own: one
 * small document per edge, so a popular user's followers never grow one document without bound.
 */
export const followSchema = new Schema(
  {
    follower: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    followee: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    createdAt: { type: Date, required: true, default: () => new Date() },
  },
  { collection: 'follows', versionKey: false, strict: 'throw', strictQuery: true },
);

// One edge per pair (idempotent follow); also serves "whom do I follow" for the feed.
followSchema.index({ follower: 1, followee: 1 }, { unique: true });
// Listings, newest first: whom a user follows, and (the reverse direction) who follows a user.
followSchema.index({ follower: 1, createdAt: -1, _id: -1 });
followSchema.index({ followee: 1, createdAt: -1, _id: -1 });

export type FollowFields = InferSchemaType<typeof followSchema>;
export const followModel = (connection: Connection) => connection.model('Follow', followSchema);
export type FollowModel = ReturnType<typeof followModel>;

declare module '../db/connection.ts' {
  interface Models {
    Follow: FollowModel;
  }
}
