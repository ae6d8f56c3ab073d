/**
 * What R4 forbids inside a resource is refused before anything is written:
 * unsafe or malformed narratives (txt-1, txt-2), empty elements (ele-1), and
 * the invariants of data types and nested elements, wherever they occur;
 * base64Binary and xhtml are judged by their own R4 rules.
 */
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp();
const ns = 'xmlns="http://www.w3.org/1999/xhtml"';

interface Outcome {
  issue: { code: string; expression?: string[]; details?: { text?: string } }[];
}

function patientWithDiv(div: string): Record<string, unknown> {
  return { resourceType: 'Patient', text: { status: 'generated', div }, name: [{ family: 'Pérez' }] };
}

async function refused(payload: unknown, url = '/fhir/Patient', method: 'POST' | 'PUT' = 'POST'): Promise<Outcome> {
  const res = await t.request({ method, url, headers: fhirJson, payload: payload as Record<string, unknown> });
  expect(res.statusCode, res.body).toBe(400);
  return res.json() as Outcome;
}

describe('narrative XHTML', () => {
  test('script and event attributes are refused, naming Patient.text.div and the element', async () => {
    const out = await refused(patientWithDiv(`<div ${ns}><script>alert(1)</script><img src="x" onerror="alert(1)"/></div>`));
    expect(out.issue.map((i) => i.expression?.[0])).toEqual(['Patient.text.div', 'Patient.text.div']);
    const text = out.issue.map((i) => i.details?.text ?? '').join('\n');
    expect(text).toContain('txt-1');
    expect(text).toContain('<script>');
    expect(text).toContain('onerror');
    const list = await t.request({ method: 'GET', url: '/fhir/Patient?_content=alert' });
    expect(list.body).not.toContain('<script>');
  });

  test.each([
    ['an unknown HTML entity', `<div ${ns}><p>&reg;</p></div>`, 'entity'],
    ['a div outside the XHTML namespace', '<div><p>a</p></div>', 'XHTML namespace'],
    ['XHTML that is not well-formed', `<div ${ns}><p>a</div>`, 'Malformed'],
    ['a javascript: link', `<div ${ns}><a href="javascript:alert(1)">x</a></div>`, 'may not run code'],
    ['an iframe', `<div ${ns}><iframe src="http://x"></iframe>a</div>`, '<iframe>'],
    ['a narrative without content (txt-2)', `<div ${ns}> </div>`, 'txt-2'],
  ])('%s is refused', async (_name, div, expected) => {
    const out = await refused(patientWithDiv(div));
    expect(out.issue[0]?.expression).toEqual(['Patient.text.div']);
    expect(out.issue.map((i) => i.details?.text ?? '').join('\n')).toContain(expected);
  });

  test('contained resources and other types are checked too (Observation.contained[0].text.div)', async () => {
    const out = await refused(
      { resourceType: 'Observation', status: 'final', code: { text: 'x' }, contained: [{ resourceType: 'Patient', id: 'p', text: { status: 'generated', div: `<div ${ns}><form>x</form></div>` } }] },
      '/fhir/Observation',
    );
    expect(out.issue[0]?.expression).toEqual(['Observation.contained[0].text.div']);
  });

  test('a safe narrative with entities, links, images and tables is stored as sent', async () => {
    const div = `<div ${ns}><p class="a" style="color:red">Pérez &amp; hijos &#169;</p><a href="http://example.org">x</a><img src="#p" alt="x"/><table><tr><td>1</td></tr></table></div>`;
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patientWithDiv(div) });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().text.div).toBe(div);
  });

  test('a narrative over 1 MB is accepted: xhtml is not a string, the 1 MB limit is not its', async () => {
    const div = `<div ${ns}><p>${'x'.repeat(1_100_000)}</p></div>`;
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: patientWithDiv(div) });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(201);
    const big = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: 'x'.repeat(1_100_000) }] } });
    expect(big.statusCode).toBe(400);
  });
});

describe('ele-1: no empty objects, arrays or strings', () => {
  test('create names the path of each empty element', async () => {
    const out = await refused({ resourceType: 'Patient', address: [{ period: {}, city: '' }], name: [{ given: [] }] });
    expect(out.issue.map((i) => i.expression?.[0]).sort()).toEqual(['Patient.address[0].city', 'Patient.address[0].period', 'Patient.name[0].given']);
    const org = await refused({ resourceType: 'Organization', name: 'x', alias: [] }, '/fhir/Organization');
    expect(org.issue[0]?.expression).toEqual(['Organization.alias']);
    expect(org.issue[0]?.details?.text).toContain('ele-1');
  });

  test('update, a patch result and a transaction entry are refused the same way', async () => {
    const created = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: 'Luna' }] } });
    const id = created.json().id as string;
    const put = await refused({ resourceType: 'Patient', id, name: [{ family: 'Luna' }], telecom: [{}] }, `/fhir/Patient/${id}`, 'PUT');
    expect(put.issue[0]?.expression).toEqual(['Patient.telecom[0]']);
    const patched = await t.request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'add', path: '/address', value: [{ period: {} }] }] });
    expect(patched.statusCode).toBeGreaterThanOrEqual(400);
    expect(patched.statusCode).toBeLessThan(500);
    expect(patched.json().issue[0].expression).toEqual(['Patient.address[0].period']);
    const tag = uniqueTag();
    const bundle = await t.request({
      method: 'POST',
      url: '/fhir',
      headers: fhirJson,
      payload: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', meta: { tag: [{ code: tag }] }, alias: [], name: [{ family: '' }] } }] },
    });
    expect(bundle.statusCode).toBe(400);
    expect(bundle.json().issue.map((i: { expression: string[] }) => i.expression[1])).toEqual(['Bundle.entry[0].resource.alias', 'Bundle.entry[0].resource.name[0].family']);
    const none = await t.request({ method: 'GET', url: `/fhir/Patient?_tag=${tag}` });
    expect(none.json().entry ?? []).toHaveLength(0);
  });
});

describe('invariants of data types and nested elements', () => {
  test('per-1 on Encounter.period', async () => {
    const out = await refused({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2024-02-01', end: '2024-01-01' } }, '/fhir/Encounter');
    expect(out.issue[0]).toMatchObject({ code: 'invariant', expression: ['Encounter.period'] });
    expect(out.issue[0]?.details?.text).toContain('per-1');
  });

  test('per-1 inside an extension and inside a backbone element', async () => {
    const ext = await refused({ resourceType: 'Patient', extension: [{ url: 'http://example.org/p', valuePeriod: { start: '2024-02-01', end: '2024-01-01' } }] });
    expect(ext.issue[0]?.expression).toEqual(['Patient.extension[0].valuePeriod']);
    const contact = await refused({ resourceType: 'Patient', contact: [{ name: { family: 'x' }, period: { start: '2024-02-01', end: '2024-01-01' } }] });
    expect(contact.issue[0]?.expression).toEqual(['Patient.contact[0].period']);
  });

  test('que-12: two enableWhen without enableBehavior', async () => {
    const item = { linkId: '2', type: 'string', enableWhen: [{ question: '1', operator: 'exists', answerBoolean: true }, { question: '0', operator: 'exists', answerBoolean: true }] };
    const out = await refused({ resourceType: 'Questionnaire', status: 'active', item: [{ linkId: '0', type: 'boolean' }, { linkId: '1', type: 'boolean' }, item] }, '/fhir/Questionnaire');
    expect(out.issue[0]?.expression).toEqual(['Questionnaire.item[2]']);
    expect(out.issue[0]?.details?.text).toContain('que-12');
    const ok = await t.request({ method: 'POST', url: '/fhir/Questionnaire', headers: fhirJson, payload: { resourceType: 'Questionnaire', status: 'active', item: [{ linkId: '0', type: 'boolean' }, { linkId: '1', type: 'boolean' }, { ...item, enableBehavior: 'all' }] } });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  test('ref-1: a local reference needs its contained resource', async () => {
    const out = await refused({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: '#missing' } }, '/fhir/Observation');
    expect(out.issue[0]?.expression).toEqual(['Observation.subject']);
    expect(out.issue[0]?.details?.text).toContain('ref-1');
  });
});

describe('base64Binary', () => {
  test('whitespace between groups is allowed, as the R4 regex says; other characters are not', async () => {
    const ok = await t.request({ method: 'POST', url: '/fhir/Binary', headers: fhirJson, payload: { resourceType: 'Binary', contentType: 'text/plain', data: 'aGVs\nbG8g\r\n d29y bGQ=' } });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().data).toBe('aGVs\nbG8g\r\n d29y bGQ=');
    const bad = await refused({ resourceType: 'Binary', contentType: 'text/plain', data: 'aGVs*G8=' }, '/fhir/Binary');
    expect(bad.issue[0]?.expression).toEqual(['Binary.data']);
  });
});
