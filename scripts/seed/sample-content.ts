import type { SeedContent } from '../bench/seed.ts';

/** Space-separated words, as a list. */
const words = (text: string): string[] => text.trim().split(/\s+/);

// Neither john nor susan: docs/play-time.md creates those, also on a seeded database.
const NAMES = words(`
  ada alan barbara brian claude dennis donald edsger frances grace guido hedy ivan jean ken
  linus margaret niklaus radia rasmus shafi sophie tim yukihiro
`);
const TAGS = words(`
  mongodb python flask typescript coffee books travel music running cooking photography
  gardening cycling chess movies jazz hiking databases design climbing tea baking astronomy
  rust
`);
const OPENERS = [
  'Just finished',
  'Thinking about',
  'Spent the morning on',
  'Finally tried',
  'Reading about',
  'Notes on',
  'Still amazed by',
  'A quick thought on',
];
const SUBJECTS = [
  'indexes that cover the query',
  'a new sourdough starter',
  'the long way home',
  'keyset pagination',
  'a chess opening I keep losing with',
  'the night sky from the hills',
  'an old jazz record',
  'schema migrations',
  'a bike ride in the rain',
  'a book about compilers',
];
const CLOSERS = ['', ' Worth it.', ' More soon.', ' Any tips?', ' Recommended.', ' Not again.'];

/** How much npm run seed makes: the bench's scale that gives a few dozen users (40). */
export const SAMPLE_SCALE = 0.004;
export const SAMPLE_PASSWORD = 'sample password';
export const SAMPLE_WEEKS = 6;

const pick = <T>(list: readonly T[], rand: () => number): T =>
  list[Math.floor(rand() * list.length)] as T;

/** Readable users, profiles and posts for exploring the API and the shell. */
export function sampleContent(seed: number): SeedContent {
  return {
    seed,
    spanDays: SAMPLE_WEEKS * 7,
    tagVocabulary: TAGS.length,
    tagName: (rank) => TAGS[rank] as string,
    password: SAMPLE_PASSWORD,
    user: (i, rand) => {
      const round = Math.floor(i / NAMES.length);
      const username = `${NAMES[i % NAMES.length]}${round === 0 ? '' : `_${round + 1}`}`;
      const aboutMe = `Writes about ${pick(TAGS, rand)} and ${pick(TAGS, rand)}.`;
      return { username, email: `${username}@example.com`, aboutMe };
    },
    body: (_i, rand) => `${pick(OPENERS, rand)} ${pick(SUBJECTS, rand)}.${pick(CLOSERS, rand)}`,
  };
}
