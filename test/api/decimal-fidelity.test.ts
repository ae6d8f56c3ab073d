/**
 * Decimals keep the text they were sent with (https://hl7.org/fhir/R4/datatypes.html#decimal):
 * on create, update, patch, transaction and every read path; search applies the
 * implicit precision of the value as written.
 */
import { describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp();
const sent = ['1.50', '105.00', '42.256500', '66.899999999999991', '123456789012345678901234567890', '1e-400'];

function observation(tag: string, value: string): string {
  return `{"resourceType":"Observation","status":"final","meta":{"tag":[{"system":"urn:test","code":"${tag}"}]},"code":{"text":"x"},"valueQuantity":{"value":${value},"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`;
}

/** The text of valueQuantity.value in a JSON body, as served. */
function valueText(body: string): string | undefined {
  return /"valueQuantity":\{"value":([^,}]+)/.exec(body)?.[1];
}

describe('decimals round-trip as written', () => {
  test.each(sent)('%s on create, read, vread, search, history and update', async (value) => {
    const tag = uniqueTag();
    const created = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: observation(tag, value) });
    expect(created.statusCode, created.body).toBe(201);
    expect(valueText(created.body)).toBe(value);
    const id = created.json().id as string;
    for (const url of [`/fhir/Observation/${id}`, `/fhir/Observation/${id}/_history/1`, `/fhir/Observation?_tag=urn:test|${tag}`, `/fhir/Observation/${id}/_history`, `/fhir/Observation?_tag=urn:test|${tag}&_elements=valueQuantity`]) {
      const res = await t.request({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(valueText(res.body), url).toBe(value);
    }
    const updated = await t.request({ method: 'PUT', url: `/fhir/Observation/${id}`, headers: fhirJson, payload: observation(tag, value).replace('{"resourceType":"Observation",', `{"resourceType":"Observation","id":"${id}",`) });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(valueText(updated.body)).toBe(value);
  });

  test('a JSON Patch keeps the number it adds and those already stored', async () => {
    const created = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: observation(uniqueTag(), '1.50') });
    const id = created.json().id as string;
    const patched = await t.request({
      method: 'PATCH',
      url: `/fhir/Observation/${id}`,
      headers: { 'content-type': 'application/json-patch+json' },
      payload: '[{"op":"add","path":"/referenceRange","value":[{"low":{"value":0.50,"unit":"mg"}}]},{"op":"replace","path":"/status","value":"amended"}]',
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(valueText(patched.body)).toBe('1.50');
    expect(patched.body).toContain('"low":{"value":0.50,');
    const replaced = await t.request({ method: 'PATCH', url: `/fhir/Observation/${id}`, headers: { 'content-type': 'application/json-patch+json' }, payload: '[{"op":"replace","path":"/valueQuantity/value","value":2.250}]' });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(valueText(replaced.body)).toBe('2.250');
    expect(replaced.body).toContain('"low":{"value":0.50,');
  });

  test('a transaction keeps the decimals of its entries and answers them as written', async () => {
    const tag = uniqueTag();
    const bundle = `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Observation"},"resource":${observation(tag, '36.60')}}]}`;
    const res = await t.request({ method: 'POST', url: '/fhir', headers: { ...fhirJson, prefer: 'return=representation' }, payload: bundle });
    expect(res.statusCode, res.body).toBe(200);
    expect(valueText(res.body)).toBe('36.60');
    const found = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}` });
    expect(valueText(found.body)).toBe('36.60');
  });

  test('$everything serves the record with its decimals as written', async () => {
    const patient = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', name: [{ family: 'Decimal' }] } });
    const id = patient.json().id as string;
    const obs = observation(uniqueTag(), '98.60').replace('"code":{"text":"x"},', `"code":{"text":"x"},"subject":{"reference":"Patient/${id}"},`);
    expect((await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: obs })).statusCode).toBe(201);
    const everything = await t.request({ method: 'GET', url: `/fhir/Patient/${id}/$everything` });
    expect(everything.statusCode, everything.body).toBe(200);
    expect(valueText(everything.body)).toBe('98.60');
  });
});

describe('number and quantity search use the value as written', () => {
  test('value-quantity=1.50 means [1.495, 1.505)', async () => {
    const tag = uniqueTag();
    const ids: Record<string, string> = {};
    for (const v of ['1.50', '1.496', '1.504', '1.505', '1.494']) {
      const res = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: observation(tag, v) });
      ids[v] = res.json().id as string;
    }
    const res = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}&value-quantity=1.50` });
    const found = (res.json().entry ?? []).map((e: { resource: { id: string } }) => e.resource.id).sort();
    expect(found).toEqual([ids['1.50'], ids['1.496'], ids['1.504']].sort());
    const coarse = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}&value-quantity=1.5` });
    expect(coarse.json().entry).toHaveLength(5); // [1.45, 1.55) holds all five
  });

  test('a value beyond double precision is found by itself, not by its rounded neighbour', async () => {
    const tag = uniqueTag();
    await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: observation(tag, '123456789012345678901234567890') });
    const exact = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}&value-quantity=123456789012345678901234567890` });
    expect(exact.json().entry).toHaveLength(1);
    const rounded = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}&value-quantity=123456789012345680000000000000` });
    expect(rounded.json().entry ?? []).toHaveLength(0);
  });

  test('1e-400 is indexed as itself, not as 0', async () => {
    const tag = uniqueTag();
    await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: observation(tag, '1e-400') });
    expect((await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}&value-quantity=gt0` })).json().entry).toHaveLength(1);
    expect((await t.request({ method: 'GET', url: `/fhir/Observation?_tag=urn:test|${tag}&value-quantity=1e-400` })).json().entry).toHaveLength(1);
  });
});
