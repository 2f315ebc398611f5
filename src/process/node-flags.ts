/**
 * The node flags the API is started with: package.json's `start`, the Dockerfile's CMD, the
 * production commands in README.md, docs/setup.md and docs/operations.md, `npm run smoke` and the bench's
 * servers (test/operations/start-command.test.ts keeps them equal).
 *
 * --max-semi-space-size=16: V8's young generation. Node 24's V8 lets each semi-space grow to
 * 64 MB where Node 20 and 22 stop at 16 MB (both on the reference machine), which raised the
 * API's peak RSS under load by about 100 MB. V8 sizes the young generation when the process
 * starts (`v8.setFlagsFromString` later changes nothing), so this is a command-line flag, not a
 * config key. What it saves and costs: docs/benchmarks.md, "Node 24's young generation".
 */
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
