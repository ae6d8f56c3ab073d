/** Search by parameter type, modifier and prefix, derived from https://hl7.org/fhir/R4/search.html; expected ids are known. */
import { beforeAll, describe, expect, test } from 'vitest';
import { uniqueTag, useTestApp } from '../support/app.ts';
import { loadTagged, matchIds, searchTagged } from '../support/search.ts';
import { fixtures } from './search-fixtures.ts';

const t = useTestApp();
const tag = uniqueTag();
beforeAll(async () => loadTagged(t, tag, fixtures));

async function ids(path: string): Promise<string[]> {
  return matchIds(await searchTagged(t, tag, path), tag);
}

type Case = [query: string, expected: string[]];
function cases(title: string, list: Case[]) {
  describe(title, () => {
    test.each(list)('%s', async (query, expected) => {
      expect(await ids(query.replaceAll('{tag}', tag))).toEqual([...expected].sort());
    });
  });
}

cases('string: starts-with, accent- and case-insensitive; :exact; :contains; AND/OR', [
  ['Patient?name=jose', ['p1', 'p4']],
  ['Patient?name=JOSÉ', ['p1', 'p4']],
  ['Patient?name:contains=jose', ['p1', 'p3', 'p4']],
  ['Patient?name:exact=José', ['p1']],
  ['Patient?name:exact=jose', []],
  ['Patient?family=nunez', ['p1']],
  ['Patient?name=jose&name=perez', ['p4']],
  ['Patient?name=maria,anajose', ['p2', 'p3']],
  ['Patient?address-city=ciudad de mex', ['p1']],
  ['Patient?name=jo%25', []],
  ['Patient?name=_ose', []],
]);

cases('token: code, system|code, |code, system|, :not, :text, :of-type, several values', [
  ['Observation?code=8867-4', ['o1', 'o2']],
  ['Observation?code=http://loinc.org|8867-4', ['o1', 'o2']],
  ['Observation?code=http://snomed.info/sct|8867-4', []],
  ['Observation?code=|8867-4', []],
  ['Observation?code=http://loinc.org|', ['o1', 'o2', 'o3']],
  ['Observation?code:not=8867-4', ['o3', 'o4', 'o5']],
  ['Observation?code:text=presion', ['o4']],
  ['Observation?code:text=heart', ['o1']],
  ['Patient?identifier=urn:curp|ABC123', ['p1']],
  ['Patient?identifier=ABC123', ['p1', 'p2']],
  ['Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|ABC123', ['p1']],
  ['Patient?gender=male,female', ['p1', 'p2']],
  ['Patient?gender:missing=true', ['p3']],
  ['Patient?gender:missing=false', ['p1', 'p2', 'p4']],
  ['Patient?active=true', ['p1']],
  ['Patient?phone=555-1234', ['p1']],
  ['Observation?status=final,amended&code=8867-4', ['o1', 'o2']],
]);

cases('date: partial dates as ranges, every prefix, time zones, periods, missing', [
  ['Patient?birthdate=1980', ['p1', 'p2']],
  ['Patient?birthdate=1980-05', ['p1']],
  ['Patient?birthdate=eq1980-05-02', ['p1']],
  ['Patient?birthdate=ne1980', ['p3']],
  ['Patient?birthdate=gt1979', ['p1', 'p2']],
  ['Patient?birthdate=ge1980', ['p1', 'p2']],
  ['Patient?birthdate=lt1980', ['p3']],
  ['Patient?birthdate=le1980', ['p1', 'p2', 'p3']],
  ['Patient?birthdate=sa1979', ['p1', 'p2']],
  ['Patient?birthdate=eb1980', ['p3']],
  ['Patient?birthdate:missing=true', ['p4']],
  ['Patient?birthdate=ge1980-01-01&birthdate=le1980-03', ['p2']],
  ['Observation?date=2020-01-15T16:00:00Z', ['o1']],
  ['Observation?date=2020-01-15T10:00:00-06:00', ['o1']],
  ['Observation?date=2020-01-15', ['o1']],
  ['Observation?date=2020-01-15T10:00:00Z', []],
  ['Observation?date=2020-01-01', []],
  ['Observation?date=lt2020-01-01', ['o2']],
  ['Observation?date=eb2020-01-02', ['o2']],
  ['Observation?date=gt2020-01-01', ['o1', 'o3']],
  ['Observation?date=ap2021-01-01', ['o3']],
  ['Observation?date:missing=true', ['o4', 'o5']],
  ['Encounter?date=ge2090-01-01', ['e1']],
  ['Encounter?date=gt2024-02', ['e1']],
  ['Encounter?date=lt2024-03-01', []],
  ['Encounter?date=eb2024-03-01', []],
  ['Patient?_lastUpdated=gt2000-01-01', ['p1', 'p2', 'p3', 'p4']],
  ['Patient?_lastUpdated=lt2000-01-01', []],
]);

cases('number: implicit precision and prefixes', [
  ['RiskAssessment?probability=50', ['r1', 'r2']],
  ['RiskAssessment?probability=50.0', ['r1']],
  ['RiskAssessment?probability=gt50', ['r3']],
  ['RiskAssessment?probability=ge50', ['r1', 'r3']],
  ['RiskAssessment?probability=lt1', ['r4']],
  ['RiskAssessment?probability=le49.5', ['r2', 'r4']],
  ['RiskAssessment?probability=ne50', ['r3', 'r4']],
  ['RiskAssessment?probability=ap50', ['r1', 'r2', 'r3']],
  ['RiskAssessment?probability=40', ['r4']],
  ['RiskAssessment?probability=5e1', ['r1', 'r2', 'r3']],
]);

cases('quantity: value|system|code, units as given', [
  ['Observation?value-quantity=72', ['o1']],
  ['Observation?value-quantity=100', ['o2']],
  ['Observation?value-quantity=gt100', ['o2']],
  ['Observation?value-quantity=le72', ['o1', 'o3']],
  ['Observation?value-quantity=71|http://unitsofmeasure.org|kg', ['o3']],
  ['Observation?value-quantity=71|http://unitsofmeasure.org|g', []],
  ['Observation?value-quantity=72||/min', ['o1']],
  ['Observation?value-quantity=72||mmHg', []],
]);

cases('reference: Type/id, id, absolute URL, :[type], :identifier, :missing, contained', [
  ['Observation?subject=Patient/{tag}-p1', ['o1', 'o3']],
  ['Observation?subject={tag}-p1', ['o1', 'o3']],
  ['Observation?patient={tag}-p1', ['o1', 'o3']],
  ['Observation?subject:Patient={tag}-p1', ['o1', 'o3']],
  ['Observation?subject:Group={tag}-p1', []],
  ['Observation?subject=http://localhost:80/fhir/Patient/{tag}-p1', ['o1', 'o3']],
  ['Observation?subject=http://other.example/fhir/Patient/p9', ['o5']],
  ['Observation?subject:identifier=urn:curp|ABC123', ['o3']],
  ['Observation?subject:missing=true', ['o4']],
  ['Observation?performer=Patient/cp', []],
  ['Observation?performer:missing=false', ['o4']],
]);

cases('uri: exact, :below, :above', [
  ['ValueSet?url=http://acme.org/fhir/ValueSet/123', ['vs1']],
  ['ValueSet?url:below=http://acme.org/fhir', ['vs1', 'vs2']],
  ['ValueSet?url:above=http://acme.org/fhir/ValueSet/123/extra/more', ['vs1', 'vs2']],
]);

cases('composite: components from the same repetition', [
  ['Observation?component-code-value-quantity=http://loinc.org|8480-6$gt100', ['o1']],
  ['Observation?component-code-value-quantity=http://loinc.org|8462-4$gt100', ['o2']],
  ['Observation?component-code-value-quantity=8480-6$lt100,8462-4$lt100', ['o1', 'o2']],
  ['Observation?code-value-quantity=http://loinc.org|8867-4$lt80', ['o1']],
]);

cases('_id, _profile, _security, _tag', [
  ['Patient?_id={tag}-p1,{tag}-p2', ['p1', 'p2']],
  ['Patient?_profile=http://example.org/p', ['p1']],
  ['Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R', ['p2']],
]);

cases('chaining (up to 2 hops) and _has (reverse chaining)', [
  ['Observation?subject:Patient.identifier=urn:curp|ABC123', ['o1', 'o3']],
  ['Observation?subject.name=maria', ['o2']],
  ['Observation?subject:Patient.gender=female', ['o2']],
  ['Observation?subject:Patient.general-practitioner.name=gregorio', ['o1', 'o3']],
  ['Patient?_has:Observation:subject:code=29463-7', ['p1']],
  ['Patient?_has:Observation:patient:status=amended', ['p2']],
  ['Patient?_has:RiskAssessment:subject:probability=gt50', ['p1']],
  ['Patient?_has:Observation:subject:code=29463-7,8867-4', ['p1', 'p2']],
]);
