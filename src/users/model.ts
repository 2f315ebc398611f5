import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';
import { codePointLength } from '../shared/text.ts';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password.ts';

/** Letters, digits, _ . and -, with at least one letter or digit (no names of only dots). */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]*[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const ABOUT_ME_MAX = 280;

/**
 * The tutorial's one-to-one profile, embedded: it is read with the user and never shared. Its
 * `lastSeen`, which every request may write, lives in the presence collection instead
 * (src/users/presence-model.ts).
 */
const profileSchema = new Schema(
  {
    aboutMe: {
      type: String,
      trim: true,
      validate: {
        validator: (text: string) => codePointLength(text) <= ABOUT_ME_MAX,
        message: `at most ${ABOUT_ME_MAX} characters`,
      },
    },
    avatarUrl: { type: String, trim: true, maxlength: 2048 },
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
    /** The username in lower case, unique: John and john are one name (set on validate). */
    usernameKey: { type: String, required: true, unique: true },
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
     * the user's writes are refused and undone (src/accounts/service.ts deleteUser).
     */
    deletingSince: { type: Date },
  },
  {
    collection: 'users',
    timestamps: true,
    strict: 'throw',
    strictQuery: true,
    methods: {
      /**
       * The tutorial's set_password, for code that writes through the model (npm run shell): the
       * API's length rule, and a new password on a saved user revokes its tokens, as a password
       * change through the API does.
       */
      async setPassword(password: string): Promise<void> {
        const length = codePointLength(password);
        if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
          throw new RangeError(
            `a password has ${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters, not ${length}`,
          );
        }
        this.passwordHash = await hashPassword(password);
        if (!this.isNew) this.tokenVersion += 1;
      },
    },
    // A document printed (the shell, console.log) or turned into an object never shows the hash.
    toObject: {
      transform: (_doc, ret: Record<string, unknown>) => {
        delete ret.passwordHash;
        return ret;
      },
    },
    // Secrets never leave through a serialized document, whatever path serializes it.
    toJSON: {
      virtuals: true,
      versionKey: false,
      transform: (_doc, ret: Record<string, unknown>) => {
        delete ret.passwordHash;
        delete ret.tokenVersion;
        delete ret.usernameKey;
        delete ret._id;
        return ret;
      },
    },
  },
);

/** The form in which usernames are compared: ASCII lower case (usernames are ASCII). */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

userSchema.pre('validate', function () {
  if (typeof this.username === 'string') this.usernameKey = usernameKey(this.username);
});

// The tutorial's `posts = db.relationship('Post', backref='author')`: the reference lives on the
// post; the user reaches its posts through a virtual, never through an array of ids.
userSchema.virtual('posts', { ref: 'Post', localField: '_id', foreignField: 'author' });

export type UserFields = InferSchemaType<typeof userSchema>;
export type UserRecord = UserFields & { _id: Types.ObjectId };
export const userModel = (connection: Connection) => connection.model('User', userSchema);
export type UserModel = ReturnType<typeof userModel>;

declare module '../db/connection.ts' {
  interface Models {
    User: UserModel;
  }
}
