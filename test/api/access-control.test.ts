/**
 * Access control without side channels (issue 13): each finding of the attack
 * review as a test through HTTP on real PostgreSQL. The readable set must be
 * part of every query; what a token may not read must not change any answer.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { mintToken, roleToken } from '../support/tokens.ts';

const t = useTestApp({ allowedHosts: ['localhost:80', 'ecu.salud.example'] });
const curpSystem = 'urn:oid:2.16.840.1.113883.4.629';
const patchJson = { 'content-type': 'application/json-patch+json' };

async function createAsAdmin(resource: Record<string, unknown>): Promise<any> {
  const res = await t.request({ method: 'POST', url: `/fhir/${resource.resourceType as string}`, headers: fhirJson, payload: resource });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Two patients with a record each; the attacker is `mine`'s patient token, the victim `other`. */
interface World {
  tag: string;
  mine: any;
  other: any;
  otherCurp: string;
  otherCondition: any;
  otherObservation: any;
  myObservations: any[];
}

let w: World;

beforeAll(async () => {
  const tag = uniqueTag();
  const otherCurp = `ZZZZ${tag.slice(-6).toUpperCase().padStart(6, '0')}HDFXXX09`.slice(0, 18);
  const mine = await createAsAdmin({ resourceType: 'Patient', name: [{ family: `Propia${tag}` }], identifier: [{ system: 'urn:test:expediente', value: `mine-${tag}` }] });
  const other = await createAsAdmin({ resourceType: 'Patient', name: [{ family: `Ajena${tag}` }], identifier: [{ system: curpSystem, value: otherCurp }], birthDate: '1961-04-12' });
  const otherCondition = await createAsAdmin({
    resourceType: 'Condition',
    meta: { tag: [{ code: tag }] },
    subject: { reference: `Patient/${other.id}` },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'B24' }] },
  });
  await createAsAdmin({ resourceType: 'Condition', meta: { tag: [{ code: tag }] }, subject: { reference: `Patient/${other.id}` }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'F32' }] } });
  const otherObservation = await createAsAdmin({
    resourceType: 'Observation',
    meta: { tag: [{ code: tag }] },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
    subject: { reference: `Patient/${other.id}` },
    valueQuantity: { value: 39.7, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
  });
  const myObservations = [];
  for (const value of [36.4, 36.9, 37.2]) {
    myObservations.push(
      await createAsAdmin({
        resourceType: 'Observation',
        meta: { tag: [{ code: tag }] },
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
        subject: { reference: `Patient/${mine.id}` },
        valueQuantity: { value, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
      }),
    );
  }
  w = { tag, mine, other, otherCurp, otherCondition, otherObservation, myObservations };
});

/** What must never appear in an answer to `mine`'s token. */
function secrets(): string[] {
  return [w.other.id, w.otherCurp, w.otherCondition.id, w.otherObservation.id];
}

function expectNothingOfOther(text: string, where: string): void {
  for (const s of secrets()) expect(text, `${where} reveals ${s}`).not.toContain(s);
}

const patientRW = () => mintToken({ claims: { scope: 'patient/*.cruds', patient: w.mine.id }, sub: `paciente-${w.tag}` });

describe('1. conditional create matches only within what the token may read', () => {
  test('If-None-Exist naming another patient’s Condition creates instead of answering it (patient/*.cruds)', async () => {
    const token = await patientRW();
    for (const criteria of [`_id=${w.otherCondition.id}`, `subject:Patient.identifier=${curpSystem}|${w.otherCurp}&code=B24`]) {
      const res = await t.request({
        method: 'POST',
        url: '/fhir/Condition',
        headers: { ...fhirJson, 'if-none-exist': criteria },
        token,
        payload: { resourceType: 'Condition', subject: { reference: `Patient/${w.mine.id}` }, code: { text: 'propia' } },
      });
      expect(res.statusCode, criteria).toBe(201);
      expectNothingOfOther(res.body + JSON.stringify(res.headers), criteria);
    }
  });

  test('a token that may create but not search Conditions cannot match at all (403)', async () => {
    for (const token of [await mintToken({ claims: { scope: 'patient/Condition.c', patient: w.mine.id } }), await roleToken('clinician', { scope: 'user/Condition.c' })]) {
      const res = await t.request({
        method: 'POST',
        url: '/fhir/Condition',
        headers: { ...fhirJson, 'if-none-exist': `_id=${w.otherCondition.id}` },
        token,
        payload: { resourceType: 'Condition', subject: { reference: `Patient/${w.mine.id}` }, code: { text: 'x' } },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().issue[0].code).toBe('forbidden');
      expect(res.json().issue[0].details.text).toContain('Condition.s');
      expectNothingOfOther(res.body, 'refusal');
    }
  });

  test('the same inside a batch entry with ifNoneExist and Prefer: return=representation', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/fhir',
      headers: { ...fhirJson, prefer: 'return=representation' },
      token: await patientRW(),
      payload: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ resource: { resourceType: 'Condition', subject: { reference: `Patient/${w.mine.id}` }, code: { text: 'lote' } }, request: { method: 'POST', url: 'Condition', ifNoneExist: `_id=${w.otherCondition.id}` } }],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().entry[0].response.status).toMatch(/^201/);
    expectNothingOfOther(res.body, 'batch');
  });

  test('conditional update, patch and delete never reach another patient’s resource', async () => {
    const token = await patientRW();
    const patch = await t.request({ method: 'PATCH', url: `/fhir/Condition?_id=${w.otherCondition.id}`, headers: patchJson, token, payload: [{ op: 'replace', path: '/code/text', value: 'x' }] });
    expect(patch.statusCode).toBe(404);
    const del = await t.request({ method: 'DELETE', url: `/fhir/Condition?_id=${w.otherCondition.id}`, token });
    expect(del.statusCode).toBe(200);
    expectNothingOfOther(patch.body + del.body, 'conditional writes');
    const still = await t.request({ method: 'GET', url: `/fhir/Condition/${w.otherCondition.id}` });
    expect(still.json().meta.versionId).toBe('1');
  });
});

describe('2. chains and _has need every type they pass through', () => {
  test('a pharmacy cannot find patients through their Conditions; the 403 names the type and the scope', async () => {
    const token = await roleToken('pharmacy', { clues: 'DFSSA000001' });
    expect((await t.request({ method: 'GET', url: '/fhir/Condition?code=B24', token })).statusCode).toBe(403);
    const res = await t.request({ method: 'GET', url: `/fhir/Patient?_has:Condition:subject:code=B24&_id=${w.other.id}`, token });
    expect(res.statusCode).toBe(403);
    expect(res.json().issue[0].code).toBe('forbidden');
    expect(res.json().issue[0].details.text).toContain('Condition');
    expect(res.json().issue[0].details.text).toContain('user/Condition.s');
    expectNothingOfOther(res.body, '_has');
  });

  test('nor through a chain on another search', async () => {
    const token = await mintToken({ claims: { scope: 'user/Observation.rs user/Patient.rs' } });
    for (const url of [`/fhir/Observation?focus:Condition.code=B24`, `/fhir/Observation?subject:Patient._has:Condition:subject:code=B24&_tag=${w.tag}`]) {
      const res = await t.request({ method: 'GET', url, token });
      expect(res.statusCode, url).toBe(403);
      expect(res.json().issue[0].details.text, url).toContain('Condition');
    }
    // The chain through readable types still works, also implicit (subject may be a Patient, Group, Device or
    // Location: the token searches Patients only, so only Patients are followed).
    for (const chain of ['subject:Patient.identifier', 'subject.identifier']) {
      const ok = await t.request({ method: 'GET', url: `/fhir/Observation?${chain}=${curpSystem}|${w.otherCurp}`, token });
      expect(ok.statusCode, chain).toBe(200);
      expect(ok.json().entry.map((e: any) => e.resource.id), chain).toEqual([w.otherObservation.id]);
    }
    const explicit = await t.request({ method: 'GET', url: `/fhir/Observation?subject:Location.name=x`, token });
    expect(explicit.statusCode).toBe(403);
  });

  test('a patient token’s chain and _has only see its own compartment', async () => {
    const token = await roleToken('patient', { patient: w.mine.id });
    for (const url of [`/fhir/Observation?subject:Patient.identifier=${curpSystem}|${w.otherCurp}`, `/fhir/Patient?_has:Condition:subject:code=B24`]) {
      const res = await t.request({ method: 'GET', url, token });
      expect(res.statusCode, url).toBe(200);
      // The self link echoes what the caller itself sent; the answer proper must hold nothing.
      expectNothingOfOther(JSON.stringify({ ...res.json(), link: undefined }), url);
      expect(res.json().total, url).toBe(0);
    }
    // Both patients have Observations with this tag: only the token's own patient is found.
    const has = await t.request({ method: 'GET', url: `/fhir/Patient?_has:Observation:subject:_tag=${w.tag}`, token });
    expect(has.json().entry.map((e: any) => e.resource.id)).toEqual([w.mine.id]);
  });
});

describe('3. paging cursors reveal nothing', () => {
  test('a next link carries no sort value, type or id, and following it walks only the token’s rows', async () => {
    const token = await roleToken('patient', { patient: w.mine.id });
    let url: string | undefined = `/fhir/Observation?_tag=${w.tag}&_sort=-value-quantity&_count=1`;
    const seen: string[] = [];
    while (url) {
      const res = await t.request({ method: 'GET', url, token });
      expect(res.statusCode, res.body).toBe(200);
      expectNothingOfOther(res.body, url);
      const bundle = res.json();
      seen.push(...bundle.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id));
      const next = bundle.link.find((l: any) => l.relation === 'next')?.url as string | undefined;
      if (next) {
        const cursor = new URL(next).searchParams.get('_cursor') ?? '';
        const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
        for (const leak of ['Observation', '37.2', '36.9', ...w.myObservations.map((o) => o.id)]) expect(decoded).not.toContain(leak);
      }
      url = next?.replace('http://localhost:80', '');
    }
    expect(seen.sort()).toEqual(w.myObservations.map((o) => o.id).sort());
  });

  test('a forged, tampered or foreign cursor is a 400 OperationOutcome', async () => {
    const token = await roleToken('patient', { patient: w.mine.id });
    const first = (await t.request({ method: 'GET', url: `/fhir/Observation?_tag=${w.tag}&_count=1`, token })).json();
    const cursor = new URL(first.link.find((l: any) => l.relation === 'next').url).searchParams.get('_cursor') ?? '';
    const flipped = Buffer.from(cursor, 'base64url');
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    const forged = Buffer.from(JSON.stringify(['n', '39.7', 'Observation', w.otherObservation.id])).toString('base64url');
    const cases: [string, string][] = [
      ['forged', `/fhir/Observation?_tag=${w.tag}&_count=1&_cursor=${forged}`],
      ['tampered', `/fhir/Observation?_tag=${w.tag}&_count=1&_cursor=${flipped.toString('base64url')}`],
      ['other search', `/fhir/Observation?_tag=${w.tag}&_count=1&_sort=-value-quantity&_cursor=${cursor}`],
      ['garbage', `/fhir/Observation?_tag=${w.tag}&_count=1&_cursor=%00%01`],
    ];
    for (const [name, url] of cases) {
      const res = await t.request({ method: 'GET', url, token });
      expect(res.statusCode, name).toBe(400);
      expect(res.json().resourceType, name).toBe('OperationOutcome');
      expect(res.json().issue[0].expression, name).toEqual(['_cursor']);
    }
    // Another token cannot use this token's cursor either.
    const admin = await t.request({ method: 'GET', url: `/fhir/Observation?_tag=${w.tag}&_count=1&_cursor=${cursor}` });
    expect(admin.statusCode).toBe(400);
  });
});

describe('4. counts and status codes are no oracle', () => {
  test('_summary=count, _count=0, _total and withheld notices count only the token’s rows', async () => {
    const token = await roleToken('patient', { patient: w.mine.id });
    const about = `subject:Patient.identifier=${curpSystem}|${w.otherCurp}&code=B24`;
    for (const url of [`/fhir/Condition?${about}&_summary=count`, `/fhir/Condition?${about}&_count=0`, `/fhir/Condition?${about}&_total=accurate`, `/fhir/Condition?${about}&_total=estimate`, `/fhir/Condition?code=B24&_tag=${w.tag}`]) {
      const res = await t.request({ method: 'GET', url, token });
      expect(res.statusCode, url).toBe(200);
      const bundle = res.json();
      expect(bundle.total ?? 0, url).toBe(0);
      expect(bundle.entry ?? [], url).toEqual([]);
      expect(res.body, url).not.toMatch(/withheld|omitieron/);
    }
    // The same searches do find the rows for a token that may read them: the test would notice a broken search.
    expect((await t.request({ method: 'GET', url: `/fhir/Condition?${about}&_summary=count` })).json().total).toBe(1);
  });

  test('batch entries answer as if the other patient’s data did not exist', async () => {
    const token = await roleToken('patient', { patient: w.mine.id });
    const batch = (url: string) => ({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url } }] });
    const res = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, token, payload: batch(`Condition?code=B24&_tag=${w.tag}&_summary=count`) });
    expect(res.statusCode).toBe(200);
    expect(res.json().entry[0].resource.total).toBe(0);
    const read = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, token, payload: batch(`Condition/${w.otherCondition.id}`) });
    const never = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, token, payload: batch('Condition/never-existed-13') });
    expect(read.json().entry[0].response.status).toBe('404');
    expect(JSON.stringify(read.json().entry[0].response.outcome).replaceAll(w.otherCondition.id, 'X')).toBe(JSON.stringify(never.json().entry[0].response.outcome).replaceAll('never-existed-13', 'X'));
  });

  test('Patient/$summary?identifier= answers the same for another patient’s CURP as for one nobody has', async () => {
    const token = await roleToken('patient', { patient: w.mine.id });
    const nobody = 'XXXX000000HDFXXX00';
    const theirs = await t.request({ method: 'GET', url: `/fhir/Patient/$summary?identifier=${curpSystem}|${w.otherCurp}`, token });
    const none = await t.request({ method: 'GET', url: `/fhir/Patient/$summary?identifier=${curpSystem}|${nobody}`, token });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.body.replaceAll(w.otherCurp, 'X')).toBe(none.body.replaceAll(nobody, 'X'));
    const byId = await t.request({ method: 'GET', url: `/fhir/Patient/${w.other.id}/$summary`, token });
    const byMissingId = await t.request({ method: 'GET', url: '/fhir/Patient/never-existed-13/$summary', token });
    expect(byId.statusCode).toBe(404);
    expect(byId.body.replaceAll(w.other.id, 'X')).toBe(byMissingId.body.replaceAll('never-existed-13', 'X'));
  });

  test('a JSON Patch test op or If-Match on another patient’s resource answers as for an id that never existed', async () => {
    const token = await patientRW();
    const id = w.otherCondition.id;
    const missing = 'never-existed-13';
    const same = (a: { statusCode: number; body: string }, b: { statusCode: number; body: string }, what: string) => {
      expect(a.statusCode, what).toBe(b.statusCode);
      expect(a.body.replaceAll(id, 'X'), what).toBe(b.body.replaceAll(missing, 'X'));
    };
    const patch = (target: string, ops: unknown[], headers: Record<string, string> = {}) => t.request({ method: 'PATCH', url: `/fhir/Condition/${target}`, headers: { ...patchJson, ...headers }, token, payload: ops });
    const testOp = (code: string) => [{ op: 'test', path: '/code/coding/0/code', value: code }];
    // Whether the diagnosis is B24 or not, and whether the version is 1 or 2, must not show.
    same(await patch(id, testOp('B24')), await patch(missing, testOp('B24')), 'test op, true');
    same(await patch(id, testOp('F32')), await patch(missing, testOp('F32')), 'test op, false');
    for (const version of ['1', '2']) {
      same(await patch(id, testOp('B24'), { 'if-match': `W/"${version}"` }), await patch(missing, testOp('B24'), { 'if-match': `W/"${version}"` }), `patch If-Match ${version}`);
      const body = (target: string) => ({ resourceType: 'Condition', id: target, subject: { reference: `Patient/${w.mine.id}` }, code: { text: 'x' } });
      const put = (target: string) => t.request({ method: 'PUT', url: `/fhir/Condition/${target}`, headers: { ...fhirJson, 'if-match': `W/"${version}"` }, token, payload: body(target) });
      same(await put(id), await put(missing), `PUT If-Match ${version}`);
      const del = (target: string) => t.request({ method: 'DELETE', url: `/fhir/Condition/${target}`, headers: { 'if-match': `W/"${version}"` }, token });
      same(await del(id), await del(missing), `DELETE If-Match ${version}`);
    }
    for (const [what, url] of [['read', ''], ['vread', '/_history/1'], ['history', '/_history']] as const) {
      same(await t.request({ method: 'GET', url: `/fhir/Condition/${id}${url}`, token }), await t.request({ method: 'GET', url: `/fhir/Condition/${missing}${url}`, token }), what);
    }
    same(await t.request({ method: 'DELETE', url: `/fhir/Condition/${id}`, token }), await t.request({ method: 'DELETE', url: `/fhir/Condition/${missing}`, token }), 'delete');
    expect((await t.request({ method: 'GET', url: `/fhir/Condition/${id}` })).json().meta.versionId).toBe('1');
  });

  test('a deleted resource of another patient is a 404, not a 410', async () => {
    const gone = await createAsAdmin({ resourceType: 'Observation', status: 'final', code: { text: 'borrada' }, subject: { reference: `Patient/${w.other.id}` } });
    expect((await t.request({ method: 'DELETE', url: `/fhir/Observation/${gone.id}` })).statusCode).toBe(200);
    const token = await roleToken('patient', { patient: w.mine.id });
    const res = await t.request({ method: 'GET', url: `/fhir/Observation/${gone.id}`, token });
    const never = await t.request({ method: 'GET', url: '/fhir/Observation/never-existed-13', token });
    expect(res.statusCode).toBe(404);
    expect(res.body.replaceAll(gone.id, 'X')).toBe(never.body.replaceAll('never-existed-13', 'X'));
  });
});

describe('5. a patient reading the audit trail sees only what concerns that patient', () => {
  test('no query string, patient or resource of another patient in the events of its own record', async () => {
    const clinician = await roleToken('clinician', { clues: 'DFIMS000011' }, `dr-${w.tag}`);
    const url = `/fhir/Observation?subject=Patient/${w.mine.id},Patient/${w.other.id}&subject:Patient.identifier=${curpSystem}|${w.otherCurp}`;
    expect((await t.request({ method: 'GET', url, token: clinician })).statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: `/fhir/Observation/${w.myObservations[0].id}`, token: clinician })).statusCode).toBe(200);
    const token = await roleToken('patient', { patient: w.mine.id });
    const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?patient=Patient/${w.mine.id}&agent=dr-${w.tag}`, token });
    expect(res.statusCode).toBe(200);
    const events = res.json().entry.map((e: any) => e.resource);
    expect(events.length).toBe(2);
    const queries = events.flatMap((e: any) => e.entity.filter((x: any) => x.query).map((x: any) => Buffer.from(x.query, 'base64').toString('utf8')));
    expectNothingOfOther(res.body + queries.join(' '), 'audit trail');
    // The read of its own Observation is still there, with the resource.
    expect(res.body).toContain(`Observation/${w.myObservations[0].id}`);
    // An auditor still sees everything.
    const auditor = await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=dr-${w.tag}`, token: await roleToken('auditor') });
    const all = auditor.json().entry.flatMap((e: any) => e.resource.entity.filter((x: any) => x.query).map((x: any) => Buffer.from(x.query, 'base64').toString('utf8')));
    expect(all.join(' ')).toContain(w.otherCurp);
    // A single event of someone else's record is a 404 for the patient, like one that does not exist.
    const foreign = auditor.json().entry.map((e: any) => e.resource).find((e: any) => !JSON.stringify(e).includes(w.mine.id));
    if (foreign) expect((await t.request({ method: 'GET', url: `/fhir/AuditEvent/${foreign.id}`, token })).statusCode).toBe(404);
    // The chain report covers the whole trail: auditors only.
    expect((await t.request({ method: 'GET', url: '/fhir/AuditEvent/$verify-chain', token })).statusCode).toBe(403);
  });
});

describe('6. export jobs belong to the whole identity that started them', () => {
  test('a token of another role, client or issuer with the same subject cannot poll, download or cancel', async () => {
    const sub = `auditora-${w.tag}`;
    const owner = await roleToken('auditor', {}, sub);
    const kick = await t.request({ method: 'GET', url: `/fhir/Patient/$export?_type=Patient`, headers: { prefer: 'respond-async' }, token: owner });
    expect(kick.statusCode, kick.body).toBe(202);
    const status = (kick.headers['content-location'] as string).replace('http://localhost:80', '');
    const strangers = [await roleToken('clinician', {}, sub), await roleToken('auditor', { client_id: 'otra-app' }, sub), await roleToken('auditor', { scope: 'user/Patient.rs' }, sub)];
    for (const token of strangers) {
      expect((await t.request({ method: 'GET', url: status, token })).statusCode).toBe(403);
      expect((await t.request({ method: 'DELETE', url: status, token })).statusCode).toBe(403);
    }
    expect([200, 202]).toContain((await t.request({ method: 'GET', url: status, token: owner })).statusCode);
  });
});

describe('7. a role bounds the scopes its tokens may carry', () => {
  test('role=patient with scope system/*.cruds reads only its own record, and cannot write', async () => {
    const token = await roleToken('patient', { patient: w.mine.id, scope: 'system/*.cruds' });
    expect((await t.request({ method: 'GET', url: `/fhir/Condition/${w.otherCondition.id}`, token })).statusCode).toBe(404);
    const search = await t.request({ method: 'GET', url: `/fhir/Condition?_tag=${w.tag}`, token });
    expect(search.statusCode).toBe(200);
    expectNothingOfOther(search.body, 'search');
    expect((await t.request({ method: 'GET', url: `/fhir/Observation/${w.myObservations[0].id}`, token })).statusCode).toBe(200);
    const write = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, token, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${w.mine.id}` } } });
    expect(write.statusCode).toBe(403);
  });

  test('a pharmacy cannot widen its documented set, an auditor stays read-only', async () => {
    const pharmacy = await roleToken('pharmacy', { scope: 'user/*.cruds' });
    expect((await t.request({ method: 'GET', url: `/fhir/Condition/${w.otherCondition.id}`, token: pharmacy })).statusCode).toBe(403);
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${w.other.id}`, token: pharmacy })).statusCode).toBe(200);
    const auditor = await roleToken('auditor', { scope: 'system/*.cruds' });
    expect((await t.request({ method: 'GET', url: `/fhir/Condition/${w.otherCondition.id}`, token: auditor })).statusCode).toBe(200);
    expect((await t.request({ method: 'DELETE', url: `/fhir/Condition/${w.otherCondition.id}`, token: auditor })).statusCode).toBe(403);
  });
});

describe('8. the Host header does not steer absolute URLs', () => {
  test('an unknown Host gets the server’s own address; an allowed one is used', async () => {
    const body = { resourceType: 'Basic', code: { text: 'host' } };
    const evil = await t.request({ method: 'POST', url: '/fhir/Basic', headers: { ...fhirJson, host: 'evil.example' }, payload: body });
    expect(evil.statusCode).toBe(201);
    expect(evil.headers.location).not.toContain('evil.example');
    expect(evil.headers.location).toMatch(/^http:\/\/localhost\/fhir\/Basic\//);
    const search = await t.request({ method: 'GET', url: `/fhir/Basic?_id=${evil.json().id}`, headers: { host: 'evil.example' } });
    expect(search.body).not.toContain('evil.example');
    const allowed = await t.request({ method: 'POST', url: '/fhir/Basic', headers: { ...fhirJson, host: 'ECU.salud.example' }, payload: body });
    expect(allowed.headers.location).toMatch(/^http:\/\/ecu\.salud\.example\/fhir\/Basic\//);
  });
});

describe('cursor range checks', () => {
  test('sequence cursors beyond bigint, and sealed ones of the wrong shape, are 400s, never 500s', async () => {
    for (const url of ['/fhir/Observation/_history?_cursor=99999999999999999999', '/fhir/Observation/_history?_cursor=9223372036854775808', '/fhir/AuditEvent?_cursor=99999999999999999999', '/fhir/AuditEvent?_cursor=-1', `/fhir/Observation?_cursor=${'A'.repeat(9000)}`]) {
      const res = await t.request({ method: 'GET', url, token: await roleToken('auditor') });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().issue[0].expression, url).toEqual(['_cursor']);
    }
  });
});
