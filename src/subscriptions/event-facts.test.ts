import { expect, test } from 'vitest';
import { eventFacts } from './event-facts.ts';

const v = (content: object | null, resourceType = 'Task') => ({ resourceType, deleted: content === null, content: content && JSON.stringify(content) });

test('create, update with the status it came from, delete', () => {
  expect(eventFacts(v({ resourceType: 'Task', status: 'requested' }), undefined)).toEqual({ interaction: 'create', status: 'requested' });
  expect(eventFacts(v({ resourceType: 'Task', status: 'accepted' }), v({ resourceType: 'Task', status: 'requested' }))).toEqual({ interaction: 'update', status: 'accepted', previousStatus: 'requested' });
  expect(eventFacts(v(null), v({ resourceType: 'Task', status: 'accepted' }))).toEqual({ interaction: 'delete', previousStatus: 'accepted' });
  // A write over a deleted resource is a (re)creation.
  expect(eventFacts(v({ resourceType: 'Task', status: 'requested' }), v(null))).toEqual({ interaction: 'create', status: 'requested' });
});

test('types no topic needs a status of are not parsed: a nested status (Encounter.statusHistory) is no event fact', () => {
  const enc = v({ resourceType: 'Encounter', statusHistory: [{ status: 'planned' }], status: 'finished' }, 'Encounter');
  expect(eventFacts(enc, undefined)).toEqual({ interaction: 'create' });
});
