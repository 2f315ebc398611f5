export interface BannerFacts {
  dbName: string;
  /** The server, secrets removed. */
  server: string;
  production: boolean;
  names: string[];
}

const RULE = '!'.repeat(78);

/** What the shell says first: where it writes, what is in scope, two lines to try. */
export function shellBanner(facts: BannerFacts): string {
  const lines = [
    `microblog shell: database "${facts.dbName}" on ${facts.server}`,
    `in scope: ${facts.names.join(', ')}`,
    'try:',
    "  await User.find({}, 'username').limit(5).lean()",
    "  await Post.find().sort({ timestamp: -1 }).limit(3).populate('author', 'username').lean()",
    'Writes go through the models (validation, hooks). Tag counts move only through the API:',
    'after writing tagged posts here, run npm run tags:repair. The tutorial session: docs/play-time.md',
    '.exit, Ctrl-D or Ctrl-C twice to leave.',
    '',
  ];
  if (!facts.production) return lines.join('\n');
  const warning = [
    RULE,
    `!! NODE_ENV=production: you are connected to the PRODUCTION database "${facts.dbName}"`,
    `!! on ${facts.server}.`,
    '!! Every save, update and delete you type here is real, immediate and seen by users.',
    RULE,
  ];
  return [...warning, ...lines].join('\n');
}
