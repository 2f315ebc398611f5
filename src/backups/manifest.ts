import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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

/** "20260123T021500.123Z": sortable, UTC, no characters that need quoting in a shell. */
export function formatStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

export function archiveFileName(database: string, startedAt: Date): string {
  return `${database}-${formatStamp(startedAt)}${ARCHIVE_SUFFIX}`;
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
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new BackupError(
      'manifest-missing',
      `no readable manifest ${manifestPath}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupError('manifest-missing', `${manifestPath} is not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BackupError(
      'manifest-missing',
      `${manifestPath}: ${issue?.path.join('.') || 'manifest'} ${issue?.message}`,
    );
  }
  if (
    parsed.data.archive !==
    basename(manifestPath).slice(0, -MANIFEST_SUFFIX.length) + ARCHIVE_SUFFIX
  ) {
    throw new BackupError(
      'manifest-missing',
      `${manifestPath} describes another archive (${parsed.data.archive})`,
    );
  }
  return parsed.data;
}

export interface BackupListing {
  /** Complete backups (valid manifest, archive of the recorded size), newest first. */
  good: BackupEntry[];
  /** Manifests that do not describe a usable archive, with the reason. */
  skipped: { file: string; reason: string }[];
  /** Valid manifests whose archive is missing or of another size (also listed in skipped). */
  damaged: (BackupEntry & { reason: string })[];
}

/** The backups in a folder, optionally of one database. Checks sizes, not checksums (cheap). */
export async function listBackups(dir: string, database?: string): Promise<BackupListing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { good: [], skipped: [], damaged: [] };
    }
    throw new BackupError('io-error', `cannot list ${dir}: ${(error as Error).message}`);
  }
  const listing: BackupListing = { good: [], skipped: [], damaged: [] };
  for (const name of names.filter((n) => n.endsWith(MANIFEST_SUFFIX)).sort()) {
    const manifestPath = join(dir, name);
    let manifest: Manifest;
    try {
      manifest = await readManifest(manifestPath);
    } catch (error) {
      listing.skipped.push({ file: manifestPath, reason: (error as Error).message });
      continue;
    }
    if (database !== undefined && manifest.database !== database) continue;
    const archivePath = join(dirname(manifestPath), manifest.archive);
    const entry = { archivePath, manifestPath, manifest, startedAt: new Date(manifest.startedAt) };
    const reason = await archiveSizeProblem(archivePath, manifest);
    if (reason === undefined) {
      listing.good.push(entry);
    } else {
      listing.skipped.push({ file: manifestPath, reason });
      listing.damaged.push({ ...entry, reason });
    }
  }
  listing.good.sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  return listing;
}

/** Why the archive cannot be the one the manifest describes, judged by its size (cheap). */
async function archiveSizeProblem(path: string, manifest: Manifest): Promise<string | undefined> {
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) return `archive ${manifest.archive} is missing`;
  if (size !== manifest.sizeBytes) {
    return `archive is ${size} bytes, the manifest says ${manifest.sizeBytes}`;
  }
  return undefined;
}
