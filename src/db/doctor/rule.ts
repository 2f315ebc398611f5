import type { Db, MongoClient } from 'mongodb';
import type { Capabilities } from '../capabilities.ts';

/**
 * One rule of MongoDB that the app relies on, as `npm run doctor` tries it on a server in a
 * scratch database. A rule the server breaks is harmless where the app already works around it
 * (by the server's identity or an explicit setting); otherwise the check names the setting that
 * makes the app safe, and the doctor fails.
 */
export interface RuleCheck {
  rule: string;
  /** Tries the rule; a string is why it does not apply to this server. */
  run(scratch: Scratch): Promise<Outcome | string>;
  /** How the app copes without the rule, given what the identity and the settings say. */
  worksAround(caps: Capabilities, retryWrites: boolean): string | undefined;
  /** What makes the app safe where the rule is broken and not worked around. */
  fix: string;
}

export interface Outcome {
  kept: boolean;
  seen: string;
}

export interface Scratch {
  client: MongoClient;
  db: Db;
  /** A replica set or mongos with sessions: transactions and retryable writes apply. */
  replicated: boolean;
}
