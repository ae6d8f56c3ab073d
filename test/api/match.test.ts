/** Patient/$match: certain on CURP, probable on names + birth date + sex (accents ignored), no match, onlyCertainMatches. */
import { describe, expect, test } from 'vitest';
import { curpCheckDigit } from '../../src/mx/curp.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp();
const curpSystem = 'urn:oid:2.16.840.1.113883.4.629';
const gradeUrl = 'http://hl7.org/fhir/StructureDefinition/match-grade';

/** A well-formed CURP with a random tail, so runs never collide. */
function curp(birth = '840210', sex = 'H'): string {
  const pick = (chars: string) => chars[Math.floor(Math.random() * chars.length)]!;
  const consonants = 'BCDFGHJKLMNPQRSTVWXZ';
  const first17 = `HELJ${birth}${sex}DF${pick(consonants)}${pick(consonants)}${pick(consonants)}${pick('ABCDEFGHIJKLMNPQRSTUVWXYZ0123456789')}`;
  return first17 + curpCheckDigit(first17);
}

function randomBirthDate(): string {
  const d = new Date(Date.UTC(1930 + Math.floor(Math.random() * 70), Math.floor(Math.random() * 12), 1 + Math.floor(Math.random() * 28)));
  return d.toISOString().slice(0, 10);
}

async function create(patient: Record<string, unknown>): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', ...patient } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function match(patient: Record<string, unknown>, extra: Record<string, unknown>[] = [], token?: string) {
  const res = await t.request({
    method: 'POST',
    url: '/fhir/Patient/$match',
    headers: fhirJson,
    payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', ...patient } }, ...extra] },
    ...(token ? { token } : {}),
  });
  expect(res.statusCode, res.body).toBe(200);
  const bundle = res.json();
  expect(bundle.type).toBe('searchset');
  return (bundle.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => ({ id: e.resource.id as string, score: e.search.score as number, grade: e.search.extension.find((x: any) => x.url === gradeUrl).valueCode as string, mode: e.search.mode }));
}

describe('Patient/$match', () => {
  test('same CURP is a certain match (score 1) even when the names differ', async () => {
    const id = curp();
    const patient = await create({ identifier: [{ system: curpSystem, value: id }], name: [{ family: `Hernández ${uniqueTag()}`, given: ['José'] }], gender: 'male', birthDate: '1984-02-10' });
    const found = await match({ identifier: [{ system: curpSystem, value: id.toLowerCase() }], name: [{ family: 'Otro', given: ['Nombre'] }] });
    expect(found[0]).toEqual({ id: patient, score: 1, grade: 'certain', mode: 'match' });
  });

  test('names without accents + birth date + sex: probable; ordered by score; other people left out', async () => {
    const tag = uniqueTag();
    const birthDate = randomBirthDate();
    const same = await create({ name: [{ family: `Núñez ${tag}`, given: ['María', 'José'] }], gender: 'female', birthDate });
    const otherYear = await create({ name: [{ family: `Núñez ${tag}`, given: ['María', 'José'] }], birthDate: `${Number(birthDate.slice(0, 4)) - 30}-06-15` });
    const stranger = await create({ name: [{ family: `Pérez ${uniqueTag()}`, given: ['Pedro'] }], gender: 'male', birthDate });
    const found = await match({ name: [{ family: `Nunez ${tag}`, given: ['Maria', 'Jose'] }], gender: 'female', birthDate });
    const ids = found.map((f: { id: string }) => f.id);
    expect(found[0]).toMatchObject({ id: same, grade: 'probable' });
    expect(found[0].score).toBeGreaterThanOrEqual(0.85);
    const weaker = found.find((f: { id: string }) => f.id === otherYear);
    expect(weaker).toMatchObject({ grade: 'possible' });
    expect(weaker.score).toBeLessThan(found[0].score);
    expect(ids.indexOf(same)).toBeLessThan(ids.indexOf(otherYear));
    expect(ids).not.toContain(stranger);
    const scores = found.map((f: { score: number }) => f.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  test('onlyCertainMatches keeps certain matches only; count limits the answer', async () => {
    const tag = uniqueTag();
    const birthDate = randomBirthDate();
    const id = curp();
    const withCurp = await create({ identifier: [{ system: curpSystem, value: id }], name: [{ family: `Ávila ${tag}`, given: ['Luis'] }], gender: 'male', birthDate });
    await create({ name: [{ family: `Avila ${tag}`, given: ['Luis'] }], gender: 'male', birthDate });
    const all = await match({ name: [{ family: `Avila ${tag}`, given: ['Luis'] }], gender: 'male', birthDate });
    expect(all.filter((f: { grade: string }) => f.grade === 'probable')).toHaveLength(2);
    expect(await match({ name: [{ family: `Avila ${tag}`, given: ['Luis'] }], gender: 'male', birthDate }, [{ name: 'onlyCertainMatches', valueBoolean: true }])).toEqual([]);
    const certain = await match({ identifier: [{ system: curpSystem, value: id }], name: [{ family: `Avila ${tag}`, given: ['Luis'] }], gender: 'male', birthDate }, [{ name: 'onlyCertainMatches', valueBoolean: true }]);
    expect(certain.map((f: { id: string; grade: string }) => [f.id, f.grade])).toEqual([[withCurp, 'certain']]);
    expect(await match({ name: [{ family: `Avila ${tag}`, given: ['Luis'] }], gender: 'male', birthDate }, [{ name: 'count', valueInteger: 1 }])).toHaveLength(1);
  });

  test('no match; a different CURP rules a look-alike out (certainly-not is never returned)', async () => {
    expect(await match({ name: [{ family: uniqueTag(), given: [uniqueTag()] }], gender: 'other', birthDate: '1901-01-01' })).toEqual([]);
    const tag = uniqueTag();
    const birthDate = randomBirthDate();
    const lookAlike = await create({ identifier: [{ system: curpSystem, value: curp() }], name: [{ family: `Ruiz ${tag}`, given: ['Ana'] }], gender: 'female', birthDate });
    const found = await match({ identifier: [{ system: curpSystem, value: curp() }], name: [{ family: `Ruiz ${tag}`, given: ['Ana'] }], gender: 'female', birthDate });
    expect(found.map((f: { id: string }) => f.id)).not.toContain(lookAlike);
  });

  test('bad input is a 400; a patient token sees only itself among the matches', async () => {
    const bad = await t.request({ method: 'POST', url: '/fhir/Patient/$match', headers: fhirJson, payload: { resourceType: 'Parameters', parameter: [{ name: 'count', valueInteger: 3 }] } });
    expect(bad.statusCode).toBe(400);
    const tag = uniqueTag();
    const birthDate = randomBirthDate();
    const me = await create({ name: [{ family: `Soto ${tag}`, given: ['Eva'] }], gender: 'female', birthDate });
    const twin = await create({ name: [{ family: `Soto ${tag}`, given: ['Eva'] }], gender: 'female', birthDate });
    const token = await roleToken('patient', { patient: me });
    const found = await match({ name: [{ family: `Soto ${tag}`, given: ['Eva'] }], gender: 'female', birthDate }, [], token);
    expect(found.map((f: { id: string }) => f.id)).toEqual([me]);
    expect(found.map((f: { id: string }) => f.id)).not.toContain(twin);
  });
});
