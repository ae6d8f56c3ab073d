/**
 * Writes a transaction has accepted but not yet sent (a transaction bundle's
 * creates, sent together: src/fhir/write-batch.ts). Every read of that
 * transaction must see them, so the store's and the search's read paths call
 * `flushPending(db)` first: deferring a write never changes what a later
 * entry reads.
 */
const pending = new WeakMap<object, () => Promise<void>>();

export function setPending(db: object, flush: () => Promise<void>): void {
  pending.set(db, flush);
}

export function clearPending(db: object): void {
  pending.delete(db);
}

export async function flushPending(db: object): Promise<void> {
  const flush = pending.get(db);
  if (flush) await flush();
}
