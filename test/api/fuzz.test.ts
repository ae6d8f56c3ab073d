/**
 * Issue 14's fuzz test: a few thousand seeded random requests (bytes,
 * numbers, structures in every parameter type, in ids, headers and bodies)
 * against a server process of its own. Never a 5xx, every error body an
 * OperationOutcome, the server's RSS under 400 MB. FUZZ_SEED replays a run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { freePort } from '../../src/store/embedded-postgres.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { adminToken, testAudience, testAuth, testIssuer } from '../support/tokens.ts';

const root = path.resolve(import.meta.dirname, '../..');
const seed = Number(process.env.FUZZ_SEED ?? 14);
const requests = 3000;
let child: ChildProcess;
let base: string;
let dir: string;
let stderr = '';

function rssMb(pid: number): number {
  if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr.slice(-3000)}`);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-fuzz-'));
  const jwksFile = path.join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(testAuth.jwks));
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: await createOwnDatabase(inject('databaseUrl')),
    DATA_DIR: dir,
    PORT: String(port),
    LOG_LEVEL: 'fatal',
    AUTH_ISSUER: testIssuer,
    AUTH_AUDIENCE: testAudience,
    AUTH_JWKS_FILE: jwksFile,
    RATE_LIMIT_PER_MINUTE: '0',
    MX_PROFILE_ENFORCEMENT: 'declared',
    REQUEST_TIMEOUT_MS: '20000',
  };
  // The start script's flags, on the TypeScript sources (no build needed).
  child = spawn(process.execPath, ['--max-semi-space-size=8', '--expose-gc', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d) => (stderr += String(d)));
  base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    try {
      if ((await fetch(`${base}/fhir/metadata`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`fuzz server did not start: ${stderr}`);
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await rm(dir, { recursive: true, force: true });
});

/** mulberry32: small, seedable, good enough to pick test inputs. */
function rng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(seed);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;

const searches: Record<string, string[]> = {
  Patient: ['name', 'family', 'given', 'identifier', 'birthdate', 'gender', 'organization', 'general-practitioner', '_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', 'name:exact', 'name:contains', 'identifier:of-type', 'gender:not', 'organization.name', '_has:Observation:subject:code', 'telecom', 'address-postalcode', 'active'],
  Observation: ['code', 'value-quantity', 'value-string', 'date', 'subject', 'patient', 'component-code-value-quantity', 'code-value-quantity', 'value-concept', 'subject:Patient', 'subject.name', 'subject:Patient.organization.name', 'status', 'category', 'code:text', 'combo-code-value-quantity', 'subject:identifier', 'encounter'],
  RiskAssessment: ['probability', 'date', 'subject'],
  DocumentReference: ['url', 'date', 'relatesto', 'subject', 'type'],
  MolecularSequence: ['variant-start', 'window-end', 'chromosome-variant-coordinate'],
  ValueSet: ['url', 'url:below', 'url:above', 'version', 'name'],
};
const control = ['_sort', '_count', '_include', '_revinclude', '_summary', '_elements', '_total', '_cursor', '_type', '_format', '_include:iterate', '_has:Patient:link:name'];

function bytes(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += `%${int(256).toString(16).padStart(2, '0').toUpperCase()}`;
  return out;
}

function numberText(): string {
  return pick([
    () => `${pick(['', 'gt', 'lt', 'ge', 'le', 'ne', 'eq', 'sa', 'eb', 'ap', 'zz'])}${pick(['', '-', '+'])}${int(1e6)}${pick(['', `.${int(1e4)}`])}${pick(['', `e${pick(['', '-', '%2B'])}${pick([int(10), int(400), int(1e6), '999999999999', '0000001'])}`])}`,
    () => '9'.repeat(1 + int(300)),
    () => `0.${'0'.repeat(int(2000))}1`,
    () => `1e${'9'.repeat(1 + int(20))}`,
    () => pick(['NaN', 'Infinity', '-0', '1e', '.5', '5.', '0x10', '1_000', '١٢٣']),
  ])();
}

function valueText(): string {
  return pick([
    () => encodeURIComponent(pick(['Ana', 'García', 'ÑANDÚ', '😀', 'a\\,b', 'a\\|b', 'x$y', 'urn:oid:1.2|CURP', 'Patient/123', 'http://x.org/a|b|c', '', '\\', '%', '*'])),
    () => bytes(1 + int(12)),
    numberText,
    () => `${pick(['', 'ge', 'lt', 'sa', 'ap'])}${pick(['2020', '2020-13-01', '2020-02-30', '20201', '2020-01-01T25:00Z', '9999-12-31T23:59:59.999999999+14:00', '0000', '2020-01-01T00:00:00+99:99'])}`,
    () => Array.from({ length: 1 + int(150) }, () => int(10)).join(','),
    () => `${encodeURIComponent('http://loinc.org|29463-7')}$${numberText()}`,
    () => `${bytes(2)}|${bytes(2)}|${numberText()}`,
    () => encodeURIComponent(String.fromCharCode(...Array.from({ length: 1 + int(8) }, () => int(0x10000))).toWellFormed()),
    () => pick(['%00', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%80', '%E2%82', '%FF', '%%', '%G0', '%0']),
    () => 'a'.repeat(int(6000)),
  ])();
}

/** A string that is valid JSON text but odd as data: unicode, escapes, long, empty. */
function text(): string {
  return pick([
    () => String.fromCodePoint(...Array.from({ length: 1 + int(10) }, () => pick([int(0x80), 0x80 + int(0x700), 0x4e00 + int(100), 0x1f600 + int(50), 0xfffd, 0x202e, 0x200b]))),
    () => pick(['', ' ', 'a\\b', "O'Brien", 'Robert"); DROP TABLE resource;--', '%00', '<b>x</b>', 'ñ'.normalize('NFD')]),
    () => 'x'.repeat(int(5000)),
  ])();
}

function resourceish(depth: number): unknown {
  if (depth > 5) return pick([null, 1, 'x', true]);
  return pick([
    () => Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['resourceType', 'id', 'name', 'value', 'valueQuantity', 'extension', 'url', 'meta', 'text', 'div', 'code', '__proto__', 'constructor', '', '\u0000', 'ñ', 'birthDate', 'status']), resourceish(depth + 1)])),
    () => Array.from({ length: int(4) }, () => resourceish(depth + 1)),
    () => pick(['', 'Patient', '\u0000', '\ud800', '<div xmlns="http://www.w3.org/1999/xhtml">x</div>', '<script>', '2020-02-30', 'x'.repeat(int(3000))]),
    () => pick([0, -1, 1e308, -1e-308, 123456789012345678901234567890, 0.1, Number.MAX_SAFE_INTEGER + 2]),
    () => pick([true, false, null]),
  ])();
}

function jsonBody(): string {
  const type = pick(['Patient', 'Observation', 'Basic', 'Bundle', 'Parameters', 'Nope', '']);
  return pick([
    () => JSON.stringify({ resourceType: type, ...(resourceish(1) as object) }),
    () => JSON.stringify(resourceish(0)),
    () => `{"resourceType":"${type}","name":[{"family":"${pick(['\\ud800', '\\u0000', '\\udfff\\ud800', 'ok'])}"}]}`,
    () => `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":${numberText().replace(/^[a-z]+/, '').replace('%2B', '+')}}}`,
    () => `{"resourceType":"Bundle","type":"${pick(['batch', 'transaction'])}","entry":[${Array.from({ length: 1 + int(4) }, () => `{"request":{"method":"${pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'])}","url":"${pick(['Patient', 'metadata', 'Patient/x', 'Observation?code=', '$export', '_history'])}${pick(['', `?name=${valueText()}`, `/${bytes(2)}`])}"},"resource":${JSON.stringify(resourceish(2))}}`).join(',')}]}`,
    () => JSON.stringify({ resourceType: 'Patient', name: [{ family: text(), given: [text()] }], identifier: [{ system: pick(['urn:fz', text()]), value: text() }], birthDate: pick(['1980-01-01', '2020-02-29', '1900', text()]), gender: pick(['male', 'female', 'other', text()]) }),
    () => `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/${pick(['fz1', text()])}"},"valueQuantity":{"value":${pick(['1e308', '1e400', '-0.000000000000000000001', '123456789012345678901234567890.123456789', '0', '-5', '72.5'])},"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`,
    () => '{"a":'.repeat(int(150)) + '1' + '}'.repeat(int(150)),
    () => pick(['', '{', 'null', '[]', '"x"', '1e999999', '{"resourceType":"Patient"}{}', '\u0000']),
  ])();
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function nextRequest(): Request {
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
  const type = pick(Object.keys(searches));
  const kind = int(10);
  if (kind === 3) {
    // Writes that pass validation, so odd text and numbers reach the store, the index and the audit trail.
    headers['content-type'] = 'application/fhir+json';
    const patient = random() < 0.5;
    const body = patient
      ? JSON.stringify({ resourceType: 'Patient', name: [{ family: text(), given: [text()] }], identifier: [{ system: 'urn:fz', value: text() || 'x' }], telecom: [{ system: 'phone', value: text() || '1' }] })
      : `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}],"text":${JSON.stringify(text() || 'x')}},"valueQuantity":{"value":${pick(['1e308', '-0.000000000000000000001', '123456789012345678901234567890.123456789', '0', '-5', '72.5', '1e-300'])},"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`;
    return { method: 'POST', url: `/fhir/${patient ? 'Patient' : 'Observation'}`, headers, body };
  }
  if (kind < 4) {
    const params = Array.from({ length: 1 + int(4) }, () => `${pick([...searches[type]!, ...control, bytes(3)])}=${valueText()}`);
    return { method: 'GET', url: `/fhir/${type}?${params.join('&')}`, headers };
  }
  if (kind === 4) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const params = Array.from({ length: 1 + int(300) }, () => `${pick(searches[type]!)}=${valueText()}`);
    return { method: 'POST', url: `/fhir/${type}/_search`, headers, body: params.join('&') };
  }
  if (kind === 5) {
    const id = pick([bytes(1 + int(6)), 'x%00y', '%C3%28', 'a'.repeat(int(200)), '..', '%2F', encodeURIComponent('😀')]);
    return { method: pick(['GET', 'DELETE', 'GET']), url: `/fhir/${type}/${id}${pick(['', '/_history', '/_history/1', `/_history/${bytes(2)}`, '/$everything', '/$summary'])}`, headers };
  }
  if (kind === 6) {
    headers['content-type'] = pick(['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/plain', 'application/xml']);
    if (random() < 0.3) headers['if-none-exist'] = `identifier=${valueText()}`;
    if (random() < 0.2) headers['if-match'] = pick(['W/"1"', 'W/"x"', '*', '"', 'W/"99999999999999999999"']);
    if (random() < 0.2) headers.prefer = pick(['return=representation', 'handling=strict', 'respond-async', 'return=%00']);
    const body = random() < 0.1 ? Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256))) : jsonBody();
    return { method: pick(['POST', 'POST', 'PUT', 'PATCH']), url: pick([`/fhir/${type}`, `/fhir/${type}/fz${int(100)}`, '/fhir', `/fhir/${type}/$validate`, '/fhir/Patient/$match']), headers, body };
  }
  if (kind === 7) {
    return { method: pick(['GET', 'POST']), url: pick([`/fhir/Patient/fz1/$everything?_since=${valueText()}&_count=${valueText()}`, `/fhir/Patient/$summary?identifier=${valueText()}`, `/fhir/Patient/$resumen-medico?identifier=${valueText()}&date=${valueText()}`, `/fhir/_history?_since=${valueText()}&_count=${valueText()}`, `/fhir/AuditEvent?agent=${valueText()}&date=${valueText()}&_cursor=${valueText()}`, `/fhir/$export-status/${bytes(4)}`]), headers };
  }
  if (kind === 8) {
    // Tokens and headers as data.
    headers.authorization = pick([`Bearer ${adminToken}`, 'Bearer x.y.z', `Bearer ${bytes(3)}`, 'Basic abc', '']);
    headers['x-request-id'] = pick(['ok', 'a'.repeat(300), '∂'.normalize(), '']).replace(/[^\x20-\x7e]/g, '?');
    return { method: 'GET', url: `/fhir/Patient?_count=1`, headers };
  }
  // Oversized URLs and odd paths.
  return { method: pick(['GET', 'HEAD', 'OPTIONS', 'TRACE']), url: pick([`/fhir/Patient?name=${'a'.repeat(17_000)}`, `/fhir/${bytes(3)}`, '/fhir/%', '/fhir//Patient', `/fhir/Patient/${'x'.repeat(2000)}`, '/fhir/_search', '/fhir/metadata?_format=xml']), headers };
}

test(`${requests} seeded random requests (seed ${seed}): never a 5xx, every error an OperationOutcome, RSS under 400 MB`, async () => {
  const failures: string[] = [];
  let peakRss = 0;
  const statuses = new Map<number, number>();
  let sent = 0;
  const worker = async () => {
    while (sent < requests) {
      sent++;
      const r = nextRequest();
      let res: Response;
      try {
        res = await fetch(`${base}${r.url}`, { method: r.method, headers: r.headers, body: r.body });
      } catch (err) {
        // fetch itself refuses some inputs (invalid header bytes): not sent, not a server failure.
        if (err instanceof TypeError && !/fetch failed/.test(err.message)) continue;
        failures.push(`${r.method} ${r.url.slice(0, 120)}: no answer (${String((err as Error).cause ?? err)})`);
        continue;
      }
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) failures.push(`${r.method} ${r.url.slice(0, 120)} → ${res.status} ${text.slice(0, 200)}`);
      if (res.status >= 400 && r.method !== 'HEAD') {
        let ok = false;
        try {
          ok = (JSON.parse(text) as { resourceType?: string }).resourceType === 'OperationOutcome';
        } catch {
          ok = false;
        }
        if (!ok) failures.push(`${r.method} ${r.url.slice(0, 120)} → ${res.status} not an OperationOutcome: ${text.slice(0, 200)}`);
      }
      if (sent % 100 === 0) peakRss = Math.max(peakRss, rssMb(child.pid!));
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  peakRss = Math.max(peakRss, rssMb(child.pid!));
  console.log(`fuzz seed ${seed}: answers by status ${JSON.stringify(Object.fromEntries(statuses))}, peak RSS ${Math.round(peakRss)} MB`);
  expect(failures.slice(0, 20)).toEqual([]);
  expect(child.exitCode).toBeNull();
  expect(peakRss).toBeLessThan(400);
}, 120_000);
