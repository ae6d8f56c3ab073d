import { expect, test } from 'vitest';
import { eventFacts } from './outbox.ts';

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
