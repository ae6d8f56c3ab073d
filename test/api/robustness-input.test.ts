/**
 * Issue 14, inputs: no byte, number or structure a client sends gets a 5xx,
 * exhausts memory, or fails another user's request. Each test is a bullet of
 * the issue's "what was seen".
 */
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { mintToken, roleToken } from '../support/tokens.ts';

const t = useTestApp();

type Res = { statusCode: number; headers: Record<string, unknown>; body: string; json(): any };

function expectOutcome(res: Res, status: number, expression?: string): any {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/fhir+json');
  const oo = res.json();
  expect(oo.resourceType).toBe('OperationOutcome');
  expect(oo.issue[0].details.text).toContain(' / ');
  if (expression !== undefined) expect(oo.issue[0].expression).toContain(expression);
  return oo;
}

async function auditOf(agent: string): Promise<any[]> {
  const auditor = await roleToken('auditor', {}, `auditor-${uniqueTag()}`);
  const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=${encodeURIComponent(agent)}&_count=1000`, token: auditor });
  expect(res.statusCode).toBe(200);
  return (res.json().entry ?? []).map((e: any) => e.resource);
}

describe('one bad request never fails other users', () => {
  test('GET Patient/x%00y is 400 naming the URL, and leaves its AuditEvent', async () => {
    const sub = uniqueTag();
    const res = await t.request({ method: 'GET', url: '/fhir/Patient/x%00y', token: await roleToken('admin', {}, sub) });
    expectOutcome(res, 400, 'url');
    const events = await auditOf(sub);
    expect(events).toHaveLength(1);
    expect(events[0].outcome).toBe('4');
  });

  test('NUL in the token sub or clues claim is 400 naming the claim, and is audited', async () => {
    const sub = `${uniqueTag()}\u0000x`;
    const bySub = await t.request({ method: 'GET', url: '/fhir/Patient?_count=1', token: await mintToken({ sub, claims: { role: 'admin' } }) });
    expect(expectOutcome(bySub, 400).issue[0].details.text).toContain('claim sub');
    // Stored as sent, but with NUL made storable (U+FFFD).
    expect(await auditOf(sub.replace('\u0000', '\uFFFD'))).toHaveLength(1);
    const cluesSub = uniqueTag();
    const byClues = await t.request({ method: 'GET', url: '/fhir/Patient?_count=1', token: await mintToken({ sub: cluesSub, claims: { role: 'admin', clues: 'DF\u0000IMS' } }) });
    expect(expectOutcome(byClues, 400).issue[0].details.text).toContain('claim clues');
    expect(await auditOf(cluesSub)).toHaveLength(1);
  });

  test('800 concurrent reads of one user all succeed, with their AuditEvents, while another sends NULs', async () => {
    const good = uniqueTag();
    const bad = uniqueTag();
    const goodToken = await roleToken('admin', {}, good);
    const badToken = await roleToken('admin', {}, bad);
    const badSubToken = await mintToken({ sub: `${bad}\u0000`, claims: { role: 'admin' } });
    const patient = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient' } })).json();
    const requests: Promise<Res>[] = [];
    for (let i = 0; i < 800; i++) {
      requests.push(t.request({ method: 'GET', url: `/fhir/Patient/${patient.id}`, token: goodToken }));
      if (i % 20 === 0) {
        requests.push(t.request({ method: 'GET', url: '/fhir/Patient/x%00y', token: badToken }));
        requests.push(t.request({ method: 'GET', url: '/fhir/Patient?name=a%00', token: badSubToken }));
      }
    }
    const answers = await Promise.all(requests);
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.statusCode, (byStatus.get(a.statusCode) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: 800, 400: 80 });
    expect(await auditOf(good)).toHaveLength(800);
  }, 60_000);
});

describe('numbers are bounded before any arithmetic', () => {
  test('a 20-byte quantity with a huge exponent is 400 at once, without growing the process', async () => {
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const answers = await Promise.all(['1e500000000', '1e500000000', 'gt1e-500000000', 'le1E%2B999999999'].map((v) => t.request({ method: 'GET', url: `/fhir/Observation?value-quantity=${v}` })));
    for (const res of answers) expect(expectOutcome(res, 400, 'value-quantity').issue[0].details.text).toMatch(/fuera de rango/);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  test.each([
    ['value-quantity', '1e999999'],
    ['value-quantity', '1e-999999'],
    ['value-quantity', '9'.repeat(20_000)],
    ['value-quantity', `0.${'1'.repeat(20_000)}`],
    ['code-value-quantity', 'http://loinc.org|29463-7$1e999999'],
    ['code-value-quantity', `http://loinc.org|29463-7$${'9'.repeat(20_000)}`],
  ].map(([name, value]) => ({ name, value, shown: value!.slice(0, 40) })))('$name=$shown… is 400 naming the parameter', async ({ name, value }) => {
    // Long values go by POST _search: a URL over 16 KB is answered 431 before any parsing.
    const res = await t.request({ method: 'POST', url: '/fhir/Observation/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `${name}=${encodeURIComponent(value!)}` });
    expectOutcome(res, 400, name);
  });

  test('numbers within the bounds still search: 1e3, 1.5e-300, 100 digits', async () => {
    for (const v of ['1e3', 'gt1.5e-300', '9'.repeat(100), `lt-${'1'.repeat(50)}.${'2'.repeat(50)}`]) {
      expect((await t.request({ method: 'GET', url: `/fhir/Observation?value-quantity=${v}&_count=1` })).statusCode, v).toBe(200);
    }
  });
});

describe('bad bytes in any parameter are a 400 naming it, never a 5xx', () => {
  test.each([
    ['Patient', 'name'],
    ['Patient', 'identifier'],
    ['Observation', 'subject'],
    ['Observation', 'value-quantity'],
    ['DocumentReference', 'url'],
    ['Patient', '_id'],
    ['Patient', '_tag'],
    ['Patient', '_profile'],
    ['Patient', '_security'],
    ['Patient', '_source'],
    ['Patient', '_has:Observation:subject:code'],
    ['Observation', 'subject.name'],
    ['Observation', 'subject:Patient.organization.name'],
  ])('%s?%s=a%00b', async (type, name) => {
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/${type}?${name}=a%00b` }), 400, name);
    // Invalid UTF-8 and an encoded surrogate (which UTF-8 cannot carry) too.
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/${type}?${name}=%C3%28` }), 400, name);
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/${type}?${name}=%ED%A0%80` }), 400, name);
  });

  test('NUL in a POST _search form, in If-None-Exist and in a bundle entry URL', async () => {
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'family=a%00' }), 400, 'family');
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': 'identifier=a%00' }, payload: { resourceType: 'Patient' } }), 400, 'identifier');
    const batch = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient?name=a%00' } }, { request: { method: 'GET', url: 'Patient/x%00y' } }] } });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().entry.map((e: any) => e.response.status)).toEqual(['400', '400']);
  });

  test('NUL in a header used as data (Prefer, If-Match), and an X-Request-Id of 300 characters, are 400', async () => {
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { prefer: 'handling=strict\u0000' } }), 400, 'Prefer');
    expectOutcome(await t.request({ method: 'PUT', url: '/fhir/Patient/x', headers: { ...fhirJson, 'if-match': 'W/"1\u0000"' }, payload: { resourceType: 'Patient', id: 'x' } }), 400, 'If-Match');
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { 'x-request-id': 'r'.repeat(300) } }), 400, 'X-Request-Id');
  });

  test('_sort with 2,000 keys, 60,000 POST _search parameters, 1,000 OR values, 50 includes: 400 too-costly', async () => {
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Patient?_sort=${Array(2000).fill('name').join(',')}` }), 400, '_sort');
    const form = Array.from({ length: 60_000 }, (_, i) => `family=n${i}`).join('&');
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form }), 400);
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Patient?family=${Array(1000).fill('x').join(',')}` }), 400, 'family');
    expectOutcome(await t.request({ method: 'GET', url: `/fhir/Observation?${Array(50).fill('_include=Observation:subject').join('&')}` }), 400, '_include');
  });

  test('a forged _cursor is 400: text, NUL, a number past bigint on AuditEvent', async () => {
    const auditor = await roleToken('auditor', {}, `auditor-${uniqueTag()}`);
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/AuditEvent?_cursor=99999999999999999999', token: auditor }), 400, '_cursor');
    expectOutcome(await t.request({ method: 'GET', url: '/fhir/Patient?_cursor=abc%00' }), 400, '_cursor');
    expect((await t.request({ method: 'GET', url: '/fhir/Patient?_sort=birthdate&_cursor=not-a-cursor' })).statusCode).toBe(400);
  });
});

describe('bodies', () => {
  test('a lone surrogate "\\ud800" in a body is 400 naming the element; nothing is stored', async () => {
    const tag = uniqueTag();
    const payload = `{"resourceType":"Patient","meta":{"tag":[{"code":"${tag}"}]},"name":[{"family":"\\ud800"}]}`;
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload }), 400, 'Patient.name[0].family');
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: payload.replace('\\ud800', 'a\\u0000b') }), 400, 'Patient.name[0].family');
    // A pair is a valid character and is kept as sent.
    const ok = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: payload.replace('\\ud800', '\\ud83d\\ude00') });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().name[0].family).toBe('😀');
    const found = await t.request({ method: 'GET', url: `/fhir/Patient?_tag=${tag}` });
    expect(found.json().total).toBe(1);
  });

  test('invalid UTF-8 bytes in a body are 400, not silently replaced by U+FFFD', async () => {
    const payload = Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    expectOutcome(await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload }), 400, 'body');
  });

  test('JSON Patch add /__proto__/x and move /name → /name/0 are 4xx OperationOutcomes, the resource unchanged', async () => {
    const patient = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: 'Ruiz' }] } })).json();
    const patchType = { 'content-type': 'application/json-patch+json' };
    const proto = await t.request({ method: 'PATCH', url: `/fhir/Patient/${patient.id}`, headers: patchType, payload: [{ op: 'add', path: '/__proto__/x', value: 1 }] });
    expectOutcome(proto, 400);
    const move = await t.request({ method: 'PATCH', url: `/fhir/Patient/${patient.id}`, headers: patchType, payload: [{ op: 'move', from: '/name', path: '/name/0' }] });
    expectOutcome(move, 400);
    const now = (await t.request({ method: 'GET', url: `/fhir/Patient/${patient.id}` })).json();
    expect(now.meta.versionId).toBe('1');
    expect(now.name).toEqual([{ family: 'Ruiz' }]);
  });
});

describe('empty body = no body', () => {
  test('DELETE and conditional DELETE with Content-Type: application/json and no body', async () => {
    const patient = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', identifier: [{ system: 'urn:t', value: uniqueTag() }] } })).json();
    for (const type of ['application/json', 'application/fhir+json']) {
      const res = await t.request({ method: 'DELETE', url: `/fhir/Patient/${patient.id}`, headers: { 'content-type': type } });
      expect(res.statusCode, res.body).toBeLessThan(300);
    }
    const conditional = await t.request({ method: 'DELETE', url: `/fhir/Patient?identifier=urn:t|${patient.identifier[0].value}`, headers: { 'content-type': 'application/json' } });
    expect(conditional.statusCode, conditional.body).toBeLessThan(300);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${patient.id}` })).statusCode).toBe(410);
  });

  test('GET with a JSON Content-Type and no body; a create without a body still says what is missing', async () => {
    expect((await t.request({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { 'content-type': 'application/json' } })).statusCode).toBe(200);
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(expectOutcome(res, 400).issue[0].details.text).toMatch(/Falta el cuerpo/);
  });
});
