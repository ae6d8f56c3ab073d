/**
 * The one place a version is written. Everything that must commit or fail
 * together with the resource row (search index rows, the audit record) is a
 * `WriteHook` run in the same database transaction; with no hooks a write
 * stays a single statement. Inside a bundle transaction the caller's
 * transaction is reused, so a failed entry rolls everything back.
 */
import type { Db, StoredVersion } from '../store/resource-store.ts';
import { insertFirstVersion, writeNextVersion } from '../store/resource-store.ts';
import type { FhirContext } from './types.ts';

export interface WrittenVersion {
  stored: StoredVersion;
  /** The version replaced, if any (undefined for a first version). */
  previous: StoredVersion | undefined;
}

/** Runs inside the write's transaction, after the resource row is written; throwing rolls the write back. */
export type WriteHook = (tx: Db, written: WrittenVersion, ctx: FhirContext) => Promise<void>;

/**
 * Runs before the row is written and may amend the version in place (its
 * `content`), e.g. to stamp which unit wrote it; must be idempotent (a
 * compare-and-set retry stamps the rebuilt version again).
 */
export type StampHook = (stored: StoredVersion, ctx: FhirContext) => void;

/** Compare-and-set write of `stored` over `previous`; false when another writer got there first. */
export async function persist(ctx: FhirContext, stored: StoredVersion, previous: StoredVersion | undefined): Promise<boolean> {
  for (const stampHook of ctx.stampHooks ?? []) stampHook(stored, ctx);
  const hooks = ctx.writeHooks ?? [];
  const write = (db: Db) => (previous ? writeNextVersion(db, stored, previous.versionId) : insertFirstVersion(db, stored));
  if (hooks.length === 0) {
    return write(ctx.db);
  }
  const run = async (tx: Db): Promise<boolean> => {
    if (!(await write(tx))) {
      return false;
    }
    for (const hook of hooks) {
      await hook(tx, { stored, previous }, ctx);
    }
    return true;
  };
  return ctx.db.isTransaction ? run(ctx.db) : ctx.db.transaction().execute(run);
}
