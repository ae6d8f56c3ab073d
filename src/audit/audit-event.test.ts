import { describe, expect, test } from 'vitest';
import { validateBase } from '../validation/validate-base.ts';
import { auditRow, buildAuditEvent, eventFromFacts, outcomeOf, type AuditFacts } from './audit-event.ts';

const facts: AuditFacts = {
  id: '0b5d2a8e-8d0c-4a5e-9d5e-1d2c3b4a5f60',
  recorded: new Date('2026-11-23T10:00:00Z'),
  interaction: 'read',
  status: 200,
  actor: { subject: 'dra.lopez', role: 'clinician', clues: 'DFIMS000011', clientId: 'ehr-umf-20', scope: 'user/*.cruds' },
  clientIp: '10.1.2.3',
  requestId: 'req-1',
  resourceType: 'Observation',
  resourceId: 'o1',
  patients: ['p1'],
};

describe('buildAuditEvent', () => {
  test('is a valid R4 AuditEvent naming who, what, when, where from and the outcome', () => {
    const event = buildAuditEvent(facts);
    expect(validateBase(event, 'AuditEvent')).toEqual([]);
    expect(event.action).toBe('R');
    expect(event.agent?.[0]?.who?.identifier?.value).toBe('dra.lopez');
    expect(event.agent?.[0]?.network?.address).toBe('10.1.2.3');
    expect(event.agent?.map((a) => a.who?.identifier?.value)).toEqual(['dra.lopez', 'DFIMS000011', 'ehr-umf-20']);
    expect(event.entity?.map((e) => e.what?.reference)).toEqual(['Patient/p1', 'Observation/o1']);
  });

  test('a refused anonymous search records the query and the failure', () => {
    const event = buildAuditEvent({ ...facts, actor: undefined, interaction: 'search-type', resourceId: undefined, status: 401, query: 'code=8867-4', outcomeText: 'Falta el token' });
    expect(validateBase(event, 'AuditEvent')).toEqual([]);
    expect(event.action).toBe('E');
    expect(event.outcome).toBe('4');
    expect(event.outcomeDesc).toBe('Falta el token');
    expect(Buffer.from(event.entity?.at(-1)?.query ?? '', 'base64').toString()).toBe('code=8867-4');
  });

  test('outcome codes follow the HTTP status class', () => {
    expect([200, 304, 404, 403, 500].map(outcomeOf)).toEqual(['0', '0', '4', '4', '8']);
  });

  test('the row carries the searchable columns and the exact JSON served', () => {
    const row = auditRow(facts);
    expect(row).toMatchObject({ action: 'R', subtype: 'read', outcome: '0', agent: 'dra.lopez', agent_role: 'clinician', clues: 'DFIMS000011', entity_type: 'Observation', entity_id: 'o1', patients: ['p1'] });
    expect(eventFromFacts(row.facts)).toEqual(buildAuditEvent(facts));
    // Only what identifies the caller is kept: no parsed scopes, no token.
    expect(JSON.parse(row.facts).actor).toEqual({ subject: 'dra.lopez', role: 'clinician', clues: 'DFIMS000011', clientId: 'ehr-umf-20', scope: 'user/*.cruds' });
  });

  test('text PostgreSQL cannot hold (NUL, a lone surrogate) becomes U+FFFD in the row, clean facts are kept as they are', () => {
    const row = auditRow({ ...facts, status: 400, query: 'name=a\u0000b', outcomeText: 'x\ud800y', patients: ['p\u0000'] });
    expect(row.facts).not.toContain('\\u0000');
    expect(JSON.parse(row.facts)).toMatchObject({ query: 'name=a\ufffdb', outcomeText: 'x\ufffdy', patients: ['p\ufffd'] });
    expect(row.patients).toEqual(['p\ufffd']);
    expect(JSON.parse(auditRow(facts).facts)).toMatchObject({ requestId: 'req-1', patients: ['p1'] });
  });
});
