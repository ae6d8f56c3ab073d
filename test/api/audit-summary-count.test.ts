/** `AuditEvent?_summary=count` answers the number of matching records (it was silently ignored: a full page came back). */
import { expect, test } from 'vitest';
import { useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp();

test('AuditEvent?_summary=count: total, no entries; other _summary values are refused', async () => {
  const reader = `reader-${Date.now().toString(36)}`;
  const token = await roleToken('clinician', {}, reader);
  for (let i = 0; i < 3; i++) await t.request({ method: 'GET', url: '/fhir/metadata', token });
  for (let i = 0; i < 3; i++) await t.request({ method: 'GET', url: '/fhir/Patient?_count=1', token });
  const auditor = await roleToken('auditor');
  const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=${reader}&_summary=count`, token: auditor });
  expect(res.statusCode).toBe(200);
  const bundle = JSON.parse(res.body) as { type: string; total: number; entry?: unknown[] };
  expect(bundle.type).toBe('searchset');
  const all = JSON.parse((await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=${reader}&_count=1000`, token: auditor })).body) as { entry: unknown[] };
  expect(all.entry.length).toBeGreaterThanOrEqual(3);
  expect(bundle.total).toBe(all.entry.length);
  expect(bundle.entry).toBeUndefined();
  const text = await t.request({ method: 'GET', url: '/fhir/AuditEvent?_summary=text', token: auditor });
  expect(text.statusCode).toBe(400);
  expect(JSON.parse(text.body).issue[0].expression).toEqual(['_summary']);
});
