/** The audit trail (NOM-024 bitácora): one AuditEvent per interaction, searchable by auditors, append-only and tamper-evident. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { mintToken, roleToken } from '../support/tokens.ts';

const t = useTestApp();
let sql: pg.Client;
beforeAll(async () => {
  sql = new pg.Client({ connectionString: inject('databaseUrl') });
  await sql.connect();
});
afterAll(async () => {
  await sql.end();
});

async function auditTrailOf(agent: string): Promise<any[]> {
  const auditor = await roleToken('auditor', {}, `auditor-${agent}`);
  const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=${agent}&_count=1000`, token: auditor });
  expect(res.statusCode).toBe(200);
  return (res.json().entry ?? []).map((e: any) => e.resource);
}

function entityRef(event: any, roleCode: string): string | undefined {
  return event.entity?.find((e: any) => e.role?.code === roleCode)?.what?.reference;
}

describe('one AuditEvent per interaction', () => {
  test('reads, writes, refusals and failures each leave exactly one record with who, what, when, where and outcome', async () => {
    const sub = uniqueTag();
    const token = await roleToken('clinician', { clues: 'DFIMS000011', name: 'Dra. López' }, sub);
    const readOnly = await mintToken({ sub, claims: { scope: 'user/Observation.rs', role: 'clinician', clues: 'DFIMS000011' } });
    const as = (o: object, tok = token) => t.request({ ...(o as object), token: tok } as never);

    const patient = (await as({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } })).json();
    const obsRes = await as({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'peso' }, subject: { reference: `Patient/${patient.id}` } } });
    const obs = obsRes.json();
    const steps: [string, number, object, string?][] = [
      ['read', 200, { method: 'GET', url: `/fhir/Observation/${obs.id}` }],
      ['vread', 200, { method: 'GET', url: `/fhir/Observation/${obs.id}/_history/1` }],
      ['update', 200, { method: 'PUT', url: `/fhir/Observation/${obs.id}`, headers: fhirJson, payload: { ...obs, status: 'amended' } }],
      ['patch', 200, { method: 'PATCH', url: `/fhir/Observation/${obs.id}`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/status', value: 'corrected' }] }],
      ['history-instance', 200, { method: 'GET', url: `/fhir/Observation/${obs.id}/_history` }],
      ['history-type', 200, { method: 'GET', url: '/fhir/Observation/_history?_count=1' }],
      ['delete', 200, { method: 'DELETE', url: `/fhir/Observation/${obs.id}` }],
      ['read', 410, { method: 'GET', url: `/fhir/Observation/${obs.id}` }],
      ['read', 404, { method: 'GET', url: '/fhir/Observation/no-such-thing' }],
      ['create', 400, { method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'nope' } }],
      ['create', 403, { method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } }, readOnly],
    ];
    for (const [, status, request, tok] of steps) {
      expect((await as(request, tok)).statusCode).toBe(status);
    }

    const events = await auditTrailOf(sub);
    expect(events).toHaveLength(2 + steps.length);
    const summary = events.map((e) => `${e.subtype[0].code}:${e.outcome}`).sort();
    expect(summary).toEqual(
      ['create:0', 'create:0', ...steps.map(([code, status]) => `${code}:${status < 400 ? '0' : '4'}`)].sort(),
    );
    for (const event of events) {
      expect(event.resourceType).toBe('AuditEvent');
      expect(event.type.code).toBe('rest');
      expect(Date.now() - Date.parse(event.recorded)).toBeLessThan(60_000);
      const who = event.agent.find((a: any) => a.requestor);
      expect(who.who.identifier.value).toBe(sub);
      expect(who.role[0].coding[0].code).toBe('clinician');
      expect(who.network.address).toBeTruthy();
      expect(event.source.site).toBe('DFIMS000011');
    }
    const update = events.find((e) => e.subtype[0].code === 'update');
    expect(update.action).toBe('U');
    expect(entityRef(update, '4')).toBe(`Observation/${obs.id}/_history/2`);
    expect(entityRef(update, '1')).toBe(`Patient/${patient.id}`);
    const read = events.find((e) => e.subtype[0].code === 'read' && e.outcome === '0');
    expect(read.action).toBe('R');
    expect(entityRef(read, '1')).toBe(`Patient/${patient.id}`);
    const refused = events.find((e) => e.outcome === '4' && e.subtype[0].code === 'create' && /token/.test(e.outcomeDesc));
    expect(refused.outcomeDesc).toMatch(/no permite crear Observation/);
  });

  test('searches, system-level history, operations and each bundle entry leave their own record too', async () => {
    const sub = uniqueTag();
    const token = await roleToken('clinician', { clues: 'DFIMS000011' }, sub);
    const as = (o: object) => t.request({ ...(o as object), token } as never);
    const patient = (await as({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } })).json();
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'peso' }, subject: { reference: `Patient/${patient.id}` } };
    const steps: [string, object][] = [
      ['search-type', { method: 'GET', url: `/fhir/Observation?subject=Patient/${patient.id}` }],
      ['search-system', { method: 'GET', url: `/fhir?_type=Patient&_id=${patient.id}` }],
      ['history-system', { method: 'GET', url: '/fhir/_history?_count=1' }],
      ['operation', { method: 'GET', url: `/fhir/Patient/${patient.id}/$everything` }],
      ['operation', { method: 'POST', url: '/fhir/Observation/$validate', headers: fhirJson, payload: observation }],
    ];
    for (const [, request] of steps) expect((await as(request)).statusCode).toBe(200);
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [observation, observation].map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } })) };
    expect((await as({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundle })).statusCode).toBe(200);

    const codes = (await auditTrailOf(sub)).map((e) => e.subtype[0].code).sort();
    // One per request (the Patient's create, the five steps, the transaction itself) and one per bundle entry.
    expect(codes).toEqual(['create', 'create', 'create', 'transaction', ...steps.map(([code]) => code)].sort());
  });

  test('a request refused for lack of a token is audited as anonymous', async () => {
    const marker = uniqueTag();
    expect((await t.request({ method: 'GET', url: `/fhir/Patient/${marker}`, token: null })).statusCode).toBe(401);
    const { rows } = await sql.query("SELECT outcome FROM audit_event WHERE agent = 'anonymous' AND entity_id = $1", [marker]);
    expect(rows).toHaveLength(1);
    expect(rows[0].outcome).toBe('4');
  });

  test('auditors find who saw a patient, by patient and date, and their own searches are audited too', async () => {
    const patient = (await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'male' } })).json();
    const reader = uniqueTag();
    await t.request({ method: 'GET', url: `/fhir/Patient/${patient.id}`, token: await roleToken('clinician', {}, reader) });
    const auditorSub = uniqueTag();
    const auditor = await roleToken('auditor', {}, auditorSub);
    const today = new Date().toISOString().slice(0, 10);
    const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?patient=Patient/${patient.id}&date=ge${today}&agent=${reader}`, token: auditor });
    expect(res.statusCode).toBe(200);
    const found = res.json().entry.map((e: any) => e.resource);
    expect(found).toHaveLength(1);
    expect(found[0].subtype[0].code).toBe('read');
    const one = await t.request({ method: 'GET', url: `/fhir/AuditEvent/${found[0].id}`, token: auditor });
    expect(one.json()).toEqual(found[0]);
    const own = await auditTrailOf(auditorSub);
    expect(own.map((e) => e.subtype[0].code).sort()).toEqual(['read', 'search-type']);
  });

  test('malformed audit searches are 400 with the parameter named', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/AuditEvent?date=yesterday' });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['date']);
  });
});

describe('tamper evidence', () => {
  test('the database refuses to change or remove audit rows', async () => {
    const { rows } = await sql.query('SELECT seq FROM audit_event ORDER BY seq DESC LIMIT 1');
    const seq = rows[0].seq;
    await expect(sql.query("UPDATE audit_event SET agent = 'someone-else' WHERE seq = $1", [seq])).rejects.toThrow(/append-only/);
    await expect(sql.query('DELETE FROM audit_event WHERE seq = $1', [seq])).rejects.toThrow(/append-only/);
    await expect(sql.query('TRUNCATE audit_event')).rejects.toThrow(/append-only/);
    // Rows can only be appended through audit_append(), which chains them.
    await expect(
      sql.query("INSERT INTO audit_event (lane, lane_seq, id, recorded, action, subtype, outcome, agent, facts, prev_hash, hash) VALUES (0, 999999, gen_random_uuid(), now(), 'R', 'read', '0', 'forger', '{}', 'x', 'y')"),
    ).rejects.toThrow(/audit_append/);
  });

  test('a row forged around the triggers is detected by $verify-chain and npm run audit:verify', async () => {
    const auditor = await roleToken('auditor');
    const verify = async () => (await t.request({ method: 'GET', url: '/fhir/AuditEvent/$verify-chain', token: auditor })).json();
    const ok = await verify();
    expect(ok.parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(true);

    const { rows } = await sql.query('SELECT seq, facts FROM audit_event ORDER BY seq DESC LIMIT 1 OFFSET 3');
    const { seq, facts } = rows[0];
    // A superuser can switch triggers off for a session: that is the forgery the chain must reveal.
    await sql.query("SET session_replication_role = 'replica'");
    try {
      await sql.query('UPDATE audit_event SET facts = $1 WHERE seq = $2', [facts.replace('"status":', '"status":1'), seq]);
      const report = await verify();
      expect(report.parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(false);
      const problem = report.parameter.find((p: any) => p.name === 'problem');
      expect(problem.part.find((p: any) => p.name === 'seq').valueString).toBe(String(seq));
      const cli = await runVerifyCli();
      expect(cli.code, cli.output).toBe(1);
      expect(cli.output).toMatch(new RegExp(`seq ${seq}: facts or hash altered`));
    } finally {
      await sql.query('UPDATE audit_event SET facts = $1 WHERE seq = $2', [facts, seq]);
      await sql.query("SET session_replication_role = 'origin'");
    }
    expect((await verify()).parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(true);
    const cli = await runVerifyCli();
    expect(cli.code, cli.output).toBe(0);
    expect(cli.output).toMatch(/chain intact/);
  });

  test('the last row of a lane removed around the triggers is detected by $verify-chain and npm run audit:verify', async () => {
    const auditor = await roleToken('auditor');
    const verify = async () => (await t.request({ method: 'GET', url: '/fhir/AuditEvent/$verify-chain', token: auditor })).json();
    expect((await verify()).parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(true);

    // The lane whose head row is oldest: the app's connections are the least likely to append to it meanwhile. If one does,
    // the new row chains onto the removed one, and the verifier must then report the gap instead of the short lane.
    const { rows } = await sql.query('SELECT e.seq, e.lane FROM audit_event e JOIN audit_chain c ON c.lane = e.lane AND c.last_seq = e.lane_seq ORDER BY e.seq LIMIT 1');
    const { seq, lane } = rows[0];
    await sql.query('CREATE TEMP TABLE removed_audit AS SELECT * FROM audit_event WITH NO DATA');
    await sql.query("SET session_replication_role = 'replica'");
    try {
      const removed = await sql.query('WITH gone AS (DELETE FROM audit_event WHERE seq = $1 RETURNING *) INSERT INTO removed_audit SELECT * FROM gone', [seq]);
      expect(removed.rowCount).toBe(1);
      const report = await verify();
      expect(report.parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(false);
      const problems = report.parameter.filter((p: any) => p.name === 'problem').map((p: any) => p.part.find((q: any) => q.name === 'problem').valueString);
      expect(problems, problems.join('\n')).toContainEqual(expect.stringMatching(new RegExp(`^lane ${lane}: `)));
      const cli = await runVerifyCli();
      expect(cli.code, cli.output).toBe(1);
      expect(cli.output).toMatch(new RegExp(`: lane ${lane}: `));
    } finally {
      await sql.query('INSERT INTO audit_event OVERRIDING SYSTEM VALUE SELECT * FROM removed_audit');
      await sql.query("SET session_replication_role = 'origin'");
      await sql.query('DROP TABLE removed_audit');
    }
    expect((await verify()).parameter.find((p: any) => p.name === 'result').valueBoolean).toBe(true);
    const cli = await runVerifyCli();
    expect(cli.code, cli.output).toBe(0);
  });
});

async function runVerifyCli(): Promise<{ code: number | null; output: string }> {
  const root = path.resolve(import.meta.dirname, '../..');
  const child = spawn(process.execPath, ['src/audit/verify-cli.ts'], { cwd: root, env: { ...process.env, DATABASE_URL: inject('databaseUrl') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}
