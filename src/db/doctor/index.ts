import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import type { Capabilities } from '../capabilities.ts';
import { primaryCheckOf } from '../replication.ts';
import { RACES } from './races.ts';
import type { RuleCheck } from './rule.ts';
import { SESSIONS } from './sessions.ts';
import { STATEMENTS } from './statements.ts';

/** Every rule `npm run doctor` tries, in the order it prints them. */
export const RULE_CHECKS: readonly RuleCheck[] = [...RACES, ...STATEMENTS, ...SESSIONS];

export type Verdict = 'kept' | 'n/a' | 'worked around' | 'UNSAFE';

export interface Finding {
  rule: string;
  verdict: Verdict;
  /** What was seen, then what the app does about it (or the setting to use). */
  detail: string;
}

/** A database name nobody mistakes for data; the doctor drops it when done. */
export function scratchDatabaseName(): string {
  return `doctor_scratch_${randomBytes(4).toString('hex')}`;
}

/**
 * Tries every rule in the scratch database `dbName` (the caller drops it, also when interrupted)
 * and judges each against what the app assumes of this server (`caps`, `retryWrites`).
 */
export async function examineServer(
  client: MongoClient,
  dbName: string,
  caps: Capabilities,
  retryWrites: boolean,
  checks: readonly RuleCheck[] = RULE_CHECKS,
): Promise<Finding[]> {
  const db = client.db(dbName);
  const hello = await db
    .admin()
    .command({ hello: 1 })
    .catch(() => db.admin().command({ isMaster: 1 }));
  const replicated =
    primaryCheckOf(hello).topology !== 'standalone' && hello.logicalSessionTimeoutMinutes != null;
  const findings: Finding[] = [];
  for (const check of checks) {
    const outcome = await check.run({ client, db, replicated }).catch((error: unknown) => ({
      kept: false,
      seen: `failed: ${error instanceof Error ? error.message : String(error)}`,
    }));
    findings.push(judge(check, outcome, caps, retryWrites));
  }
  return findings;
}

function judge(
  check: RuleCheck,
  outcome: Awaited<ReturnType<RuleCheck['run']>>,
  caps: Capabilities,
  retryWrites: boolean,
): Finding {
  const { rule } = check;
  if (typeof outcome === 'string') return { rule, verdict: 'n/a', detail: outcome };
  if (outcome.kept) return { rule, verdict: 'kept', detail: outcome.seen };
  const around = check.worksAround(caps, retryWrites);
  return around
    ? { rule, verdict: 'worked around', detail: `${outcome.seen}; the app: ${around}` }
    : { rule, verdict: 'UNSAFE', detail: `${outcome.seen}; use: ${check.fix}` };
}
