import { type Connection, type InferSchemaType, Schema } from 'mongoose';

/**
 * When each user was last seen, one document per user keyed by the user's _id. Kept off the user
 * document on purpose: every authenticated request may write it (at most once a minute), and a
 * write that every request makes must never share a document with the security-bearing fields
 * (tokenVersion, passwordHash, email) on an engine that loses concurrent updates
 * (docs/sql-vs-documents.md).
 */
export const presenceSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    lastSeen: { type: Date, required: true },
  },
  { collection: 'presence', versionKey: false, strict: 'throw', strictQuery: true },
);

export type PresenceFields = InferSchemaType<typeof presenceSchema>;
export const presenceModel = (connection: Connection) =>
  connection.model('Presence', presenceSchema);
export type PresenceModel = ReturnType<typeof presenceModel>;

declare module '../db/connection.ts' {
  interface Models {
    Presence: PresenceModel;
  }
}
