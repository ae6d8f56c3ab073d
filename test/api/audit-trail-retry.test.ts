/** Issue 14: audit rows are committed in groups; a row the database refuses fails only its own request. */
import { afterAll, expect, inject, test } from 'vitest';
import { auditRow } from '../../src/audit/audit-event.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { connect } from '../../src/store/connect.ts';
import { uniqueTag } from '../support/app.ts';

const db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 4 });
afterAll(() => db.destroy());

function row(agent: string, id: string = crypto.randomUUID()) {
  return auditRow({ id, recorded: new Date(), interaction: 'read', status: 200, clientIp: '127.0.0.1', requestId: uniqueTag(), actor: { subject: agent, scope: '' }, resourceType: 'Patient', resourceId: 'p1', patients: [] });
}

test('a group with one unstorable row: the others are committed, only that one fails', async () => {
  const trail = new AuditTrail(db);
  const agent = uniqueTag();
  const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => trail.record(i === 150 ? row(agent, 'not-a-uuid') : row(agent))));
  const rejected = results.map((r, i) => (r.status === 'rejected' ? i : -1)).filter((i) => i >= 0);
  expect(rejected).toEqual([150]);
  const stored = await db.selectFrom('audit_event').select((eb) => eb.fn.countAll<string>().as('n')).where('agent', '=', agent).executeTakeFirstOrThrow();
  expect(Number(stored.n)).toBe(299);
});

test('NUL and lone surrogates in the facts are made storable instead of failing the row', async () => {
  const trail = new AuditTrail(db);
  const agent = `${uniqueTag()}\u0000\ud800`;
  await trail.record(row(agent));
  const stored = await db.selectFrom('audit_event').select('agent').where('agent', '=', agent.replace('\u0000', '\uFFFD').replace('\ud800', '\uFFFD')).execute();
  expect(stored).toHaveLength(1);
});
