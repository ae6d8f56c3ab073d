import { expect, test } from 'vitest';
import { persist, type BatchedStatement, type WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { eventFacts, outboxWriteStatement } from './outbox.ts';

const v = (versionId: number, content: object | null, deleted = false) => ({ resourceType: 'Task', id: 't', versionId, lastUpdated: new Date(), deleted, content: content && JSON.stringify(content), patients: [] });

test('create, update with the status it came from, delete', () => {
  expect(eventFacts({ stored: v(1, { resourceType: 'Task', status: 'requested' }), previous: undefined })).toEqual({ interaction: 'create', status: 'requested' });
  expect(eventFacts({ stored: v(2, { resourceType: 'Task', status: 'accepted' }), previous: v(1, { resourceType: 'Task', status: 'requested' }) })).toEqual({ interaction: 'update', status: 'accepted', previousStatus: 'requested' });
  expect(eventFacts({ stored: v(3, null, true), previous: v(2, { resourceType: 'Task', status: 'accepted' }) })).toEqual({ interaction: 'delete', previousStatus: 'accepted' });
  // A write over a deleted resource is a (re)creation.
  expect(eventFacts({ stored: v(4, { resourceType: 'Task', status: 'requested' }), previous: v(3, null, true) })).toEqual({ interaction: 'create', status: 'requested' });
});

test("types no topic needs a status of are not parsed: a nested status (Encounter.statusHistory) is no event fact", () => {
  const enc = { ...v(1, { resourceType: 'Encounter', statusHistory: [{ status: 'planned' }], status: 'finished' }), resourceType: 'Encounter' };
  expect(eventFacts({ stored: enc, previous: undefined })).toEqual({ interaction: 'create' });
});

test('with the outbox on, a bundle create still goes out set-based: persist hands it to the batch with the outbox share', async () => {
  const added: { statements: readonly BatchedStatement[]; item: unknown }[] = [];
  const batch = {
    add: (written: WrittenVersion, ctx: FhirContext, statements: readonly BatchedStatement[]) => added.push({ statements, item: statements[0]?.item(written, ctx) }),
    flush: () => Promise.reject(new Error('a create with the outbox must not be sent on its own')),
  };
  const stored = { ...v(1, { resourceType: 'Task', status: 'requested' }), patients: ['p1'] };
  const ctx = { baseUrl: 'http://localhost/fhir', writeStatements: [outboxWriteStatement], writeBatch: batch } as unknown as FhirContext;
  expect(await persist(ctx, stored, undefined)).toBe(true);
  expect(added).toHaveLength(1);
  expect(added[0]!.item).toEqual({ t: 'Task', i: 't', v: 1, f: { interaction: 'create', status: 'requested' }, p: ['p1'] });
  // Many versions' rows: one INSERT, in the items' order (the order the fan-out numbers them in).
  const statements = outboxWriteStatement.batched!.statements([added[0]!.item, { ...(added[0]!.item as object), i: 'u' }]);
  expect(statements).toHaveLength(1);
  expect(outboxWriteStatement.batched!.statements([])).toHaveLength(0);
});
