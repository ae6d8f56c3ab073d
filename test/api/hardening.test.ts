/** Edge protection: security headers, CORS allow-list, per-client rate limit, JSON depth limit. */
import { expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ corsOrigins: ['https://ehr.imss.example'], rateLimitPerMinute: 5 });

test('security headers are set on every answer', async () => {
  const res = await t.request({ method: 'GET', url: '/fhir/metadata' });
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['strict-transport-security']).toMatch(/max-age/);
  expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
});

test('CORS answers only allowed EHR origins', async () => {
  const allowed = await t.request({ method: 'OPTIONS', url: '/fhir/Patient', token: null, headers: { origin: 'https://ehr.imss.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
  expect(allowed.headers['access-control-allow-origin']).toBe('https://ehr.imss.example');
  expect(String(allowed.headers['access-control-allow-headers'])).toMatch(/Authorization/);
  const other = await t.request({ method: 'GET', url: '/fhir/metadata', headers: { origin: 'https://evil.example' } });
  expect(other.headers['access-control-allow-origin']).toBeUndefined();
});

test('each client has its own rate limit, answered 429 with an OperationOutcome', async () => {
  const token = await roleToken('clinician', {}, 'rate-limited');
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    statuses.push((await t.request({ method: 'GET', url: '/fhir/Patient/none', token })).statusCode);
  }
  expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
  const limited = await t.request({ method: 'GET', url: '/fhir/Patient/none', token });
  expect(limited.statusCode).toBe(429);
  expect(limited.json().issue[0].code).toBe('throttled');
  expect(limited.headers['retry-after']).toBeDefined();
  // Another client is not affected.
  expect((await t.request({ method: 'GET', url: '/fhir/Patient/none', token: await roleToken('clinician', {}, 'other-client') })).statusCode).toBe(404);
});

test('deeply nested JSON is refused before anything walks it', async () => {
  const token = await roleToken('clinician', {}, 'deep-json');
  const payload = `{"resourceType":"Basic","code":${'['.repeat(200)}${']'.repeat(200)}}`;
  const res = await t.request({ method: 'POST', url: '/fhir/Basic', headers: fhirJson, payload, token });
  expect(res.statusCode).toBe(400);
  expect(res.json().issue[0].details.text).toMatch(/anida más de 100 niveles/);
});
