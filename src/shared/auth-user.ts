/** The user a request's token speaks for, once confirmed against the user's record. */
export interface AuthUser {
  id: string;
  username: string;
}

/**
 * A token whose signature and expiry are good but which is not yet checked against its user's
 * record (revocation, deletion). The handler reads that record in one of its own queries and
 * hands it to confirm(); nothing may be answered before it resolves.
 */
export interface PendingUser<UserRecord = unknown> {
  readonly id: string;
  confirm(record: UserRecord | undefined): Promise<AuthUser>;
  readonly confirmed: AuthUser | undefined;
}
