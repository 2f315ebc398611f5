import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { BackupError } from './errors.ts';

export const ARCHIVE_SUFFIX = '.archive.gz';
export const MANIFEST_SUFFIX = '.manifest.json';
export const PARTIAL_SUFFIX = '.partial';

const manifestSchema = z.object({
  formatVersion: z.literal(1),
  database: z.string().min(1),
  /** File name of the archive, in the same folder as the manifest. */
  archive: z.string().endsWith(ARCHIVE_SUFFIX),
  sizeBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  durationMs: z.number().int().nonnegative(),
  /** Why it was taken; absent in manifests written before the field existed (scheduled). */
  reason: z.enum(['scheduled', 'pre-migration']).optional(),
  server: z.object({
    engine: z.enum(['mongodb', 'ferretdb']),
    version: z.string(),
    engineVersion: z.string(),
  }),
  tool: z.object({ name: z.literal('mongodump'), version: z.string(), path: z.string() }),
  /** Documents per collection as written into the archive. */
  collections: z.array(
    z.object({
      name: z.string(),
      documents: z.number().int().nonnegative(),
      indexes: z.array(z.string()),
    }),
  ),
  /** migrate-mongo's changelog as dumped: which migrations this data has. */
  changelog: z.object({
    collection: z.string(),
    present: z.boolean(),
    migrations: z.array(
      z.object({
        fileName: z.string(),
        appliedAt: z.string().nullable(),
        migrationBlock: z.number().optional(),
      }),
    ),
  }),
});

export type Manifest = z.infer<typeof manifestSchema>;

export interface BackupEntry {
  archivePath: string;
  manifestPath: string;
  manifest: Manifest;
  startedAt: Date;
}

/** "<db>-20260123T021500.123Z.archive.gz": sortable, UTC, nothing that needs quoting in a shell. */
export function archiveFileName(database: string, startedAt: Date): string {
  return `${database}-${startedAt.toISOString().replace(/[-:]/g, '')}${ARCHIVE_SUFFIX}`;
}

export function manifestPathFor(archivePath: string): string {
  if (!archivePath.endsWith(ARCHIVE_SUFFIX)) {
    throw new BackupError('usage', `${archivePath}: archive names end in ${ARCHIVE_SUFFIX}`);
  }
  return archivePath.slice(0, -ARCHIVE_SUFFIX.length) + MANIFEST_SUFFIX;
}

/** Writes the manifest under a .partial name and renames it, so readers never see half a file. */
export async function writeManifest(manifestPath: string, manifest: Manifest): Promise<void> {
  const partial = manifestPath + PARTIAL_SUFFIX;
  try {
    await writeFile(partial, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(partial, manifestPath);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export async function readManifest(manifestPath: string): Promise<Manifest> {
  const missing = (why: string) => new BackupError('manifest-missing', why);
  const text = await readFile(manifestPath, 'utf8').catch((error: Error) => {
    throw missing(`no readable manifest ${manifestPath}: ${error.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw missing(`${manifestPath} is not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  const issue = parsed.error?.issues[0];
  if (!parsed.success)
    throw missing(`${manifestPath}: ${issue?.path.join('.') || 'manifest'} ${issue?.message}`);
  const ownArchive = basename(manifestPath).slice(0, -MANIFEST_SUFFIX.length) + ARCHIVE_SUFFIX;
  if (parsed.data.archive !== ownArchive) {
    throw missing(`${manifestPath} describes another archive (${parsed.data.archive})`);
  }
  return parsed.data;
}

/**
 * The backups in a folder, optionally of one database, checked by size, not checksum (cheap):
 * `good` (newest first), `skipped` (manifests that describe no usable archive, with the reason)
 * and `damaged` (valid manifests whose archive is missing or of another size; also skipped).
 */
export async function listBackups(dir: string, database?: string) {
  const listing = {
    good: [] as BackupEntry[],
    skipped: [] as { file: string; reason: string }[],
    damaged: [] as (BackupEntry & { reason: string })[],
  };
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new BackupError('io-error', `cannot list ${dir}: ${error.message}`);
  });
  for (const name of names.filter((n) => n.endsWith(MANIFEST_SUFFIX)).sort()) {
    const manifestPath = join(dir, name);
    const manifest = await readManifest(manifestPath).catch((error: Error) => {
      listing.skipped.push({ file: manifestPath, reason: error.message });
    });
    if (!manifest || (database !== undefined && manifest.database !== database)) continue;
    const archivePath = join(dir, manifest.archive);
    const entry = { archivePath, manifestPath, manifest, startedAt: new Date(manifest.startedAt) };
    const size = await stat(archivePath).then(
      (s) => s.size,
      () => undefined,
    );
    const reason =
      size === undefined
        ? `archive ${manifest.archive} is missing`
        : `archive is ${size} bytes, the manifest says ${manifest.sizeBytes}`;
    if (size === manifest.sizeBytes) listing.good.push(entry);
    else {
      listing.skipped.push({ file: manifestPath, reason });
      listing.damaged.push({ ...entry, reason });
    }
  }
  listing.good.sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  return listing;
}
