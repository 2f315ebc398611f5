import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

export const ABOUT_ME_MAX = 280;

/** The tutorial's one-to-one profile, embedded: it is read with the user and never shared. */
const profileSchema = new Schema(
  {
    aboutMe: { type: String, trim: true, maxlength: ABOUT_ME_MAX },
    avatarUrl: { type: String, trim: true, maxlength: 2048 },
    /** Set by authenticated requests, at most once a minute. */
    lastSeen: { type: Date },
  },
  { _id: false, strict: 'throw' },
);

export const userSchema = new Schema(
  {
    username: {
      type: String,
      required: true,
      trim: true,
      minlength: 3,
      maxlength: 32,
      match: USERNAME_PATTERN,
      unique: true,
    },
    email: {
      type: String,
      required: true,
      trim: true,
      lowercase: true,
      maxlength: 254,
      unique: true,
    },
    passwordHash: { type: String, required: true },
    /** Bumped to revoke every token issued before (password change, log out everywhere). */
    tokenVersion: { type: Number, required: true, default: 0 },
    profile: { type: profileSchema, default: () => ({}) },
    /**
     * Set by the first write of the user's deletion (with a tokenVersion bump); from then on
     * the user's writes are refused and undone (src/users/service.ts deleteUser).
     */
    deletingSince: { type: Date },
  },
  {
    collection: 'users',
    timestamps: true,
    strict: 'throw',
    strictQuery: true,
    // Secrets never leave through a serialized document, whatever path serializes it.
    toJSON: {
      virtuals: true,
      versionKey: false,
      transform: (_doc, ret: Record<string, unknown>) => {
        delete ret.passwordHash;
        delete ret.tokenVersion;
        delete ret._id;
        return ret;
      },
    },
  },
);

// The tutorial's `posts = db.relationship('Post', backref='author')`: the reference lives on the
// post; the user reaches its posts through a virtual, never through an array of ids.
userSchema.virtual('posts', { ref: 'Post', localField: '_id', foreignField: 'author' });

export type UserFields = InferSchemaType<typeof userSchema>;
export type UserRecord = UserFields & { _id: Types.ObjectId };
export const userModel = (connection: Connection) => connection.model('User', userSchema);
export type UserModel = ReturnType<typeof userModel>;
