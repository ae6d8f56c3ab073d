/**
 * SMART Backend Services through HTTP: an institution's client registered by
 * an admin gets a token with a signed assertion and uses it for $export;
 * every way an assertion can be wrong is refused with its RFC 6749 error and
 * audited; two instances share the replay store and the signing key; tokens
 * expire.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { connect } from '../../src/store/connect.ts';
import { useTestApp, type TestApp } from '../support/app.ts';
import { roleToken, testAuth } from '../support/tokens.ts';
import { assertion, formHeaders, newClientKey, registerClient, tokenEndpoint, tokenForm, type SmartClient } from '../support/smart-client.ts';

const exportDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-smart-'));
const t = useTestApp({ exportDir });
afterAll(async () => {
  await rm(exportDir, { recursive: true, force: true });
});

async function postToken(app: TestApp, body: string) {
  return app.request({ method: 'POST', url: '/auth/token', headers: formHeaders, payload: body, token: null });
}

let aud: string;
let client: SmartClient;
beforeAll(async () => {
  aud = await tokenEndpoint(t);
  client = await registerClient(t, { scope: 'system/*.rs' });
});

describe('discovery', () => {
  test('smart-configuration names the token endpoint, assertion algorithms and grant', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/.well-known/smart-configuration', token: null });
    const doc = res.json();
    expect(doc.token_endpoint).toBe('http://localhost/auth/token');
    expect(doc.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toEqual(['RS384', 'ES384']);
    expect(doc.grant_types_supported).toContain('client_credentials');
    expect(doc.scopes_supported).toContain('system/*.rs');
    // A Host header outside ALLOWED_HOSTS does not name the token endpoint (nor the aud an assertion must carry).
    const forged = await t.request({ method: 'GET', url: '/.well-known/smart-configuration', headers: { host: 'evil.example' }, token: null });
    expect(forged.json().token_endpoint).toBe('http://localhost/auth/token');
    const a = await assertion(client, 'http://evil.example/auth/token');
    const refused = await t.request({ method: 'POST', url: '/auth/token', headers: { ...formHeaders, host: 'evil.example' }, payload: tokenForm(a), token: null });
    expect(refused.json().error).toBe('invalid_client');
  });

  test('the JWKS endpoint publishes the public key the access tokens are signed with', async () => {
    const res = await t.request({ method: 'GET', url: '/auth/jwks.json', token: null });
    expect(res.statusCode).toBe(200);
    const keys = res.json().keys as { kid: string; d?: string; alg: string }[];
    expect(keys).toHaveLength(1);
    expect(keys[0]?.d).toBeUndefined();
    const token = (await postToken(t, tokenForm(await assertion(client, aud)))).json().access_token as string;
    expect(keys[0]?.kid).toBeDefined();
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe(keys[0]?.kid);
  });
});

describe('registration', () => {
  test('only an admin registers clients; a bad registration is a 400 naming the field', async () => {
    const key = await newClientKey();
    const body = { clues: 'DFIST000123', jwks: { keys: [key.publicJwk] }, scope: 'system/*.rs' };
    const clinician = await t.request({ method: 'POST', url: '/auth/clients', payload: body, token: await roleToken('clinician') });
    expect(clinician.statusCode).toBe(403);
    const none = await t.request({ method: 'POST', url: '/auth/clients', payload: body, token: null });
    expect(none.statusCode).toBe(401);
    const userScope = await t.request({ method: 'POST', url: '/auth/clients', payload: { ...body, scope: 'user/*.rs' } });
    expect(userScope.statusCode).toBe(400);
    expect(userScope.json().issue[0].expression).toEqual(['scope']);
    const privateKey = await t.request({ method: 'POST', url: '/auth/clients', payload: { ...body, jwks: { keys: [{ kty: 'EC', d: 'secret' }] } } });
    expect(privateKey.statusCode).toBe(400);
    const badClues = await t.request({ method: 'POST', url: '/auth/clients', payload: { ...body, clues: 'nope' } });
    expect(badClues.statusCode).toBe(400);
    const ok = await t.request({ method: 'POST', url: '/auth/clients', payload: body });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ clues: 'DFIST000123', scope: 'system/*.rs', role: 'institution' });
  });
});

describe('token endpoint', () => {
  test('a registered client gets a token with a valid assertion and runs $export with it', async () => {
    const res = await postToken(t, tokenForm(await assertion(client, aud), 'system/Patient.rs system/Observation.rs'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/Patient.rs system/Observation.rs' });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ sub: client.clientId, clues: 'DFIST000123', role: 'institution' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);

    const kick = await t.request({ method: 'GET', url: `/fhir/$export?_type=Patient&_since=${new Date().toISOString()}`, headers: { prefer: 'respond-async', accept: 'application/fhir+json' }, token: body.access_token });
    expect(kick.statusCode, kick.body).toBe(202);
    const status = String(kick.headers['content-location']);
    const poll = await t.request({ method: 'GET', url: status.slice(status.indexOf('/fhir/')), token: body.access_token });
    expect([200, 202]).toContain(poll.statusCode);
    // Writing is beyond system/*.rs.
    const write = await t.request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json' }, payload: { resourceType: 'Patient' }, token: body.access_token });
    expect(write.statusCode).toBe(403);
  });

  test('an RS384 client is accepted too, and wider scopes are narrowed to the registration', async () => {
    const rsa = await registerClient(t, { alg: 'RS384', scope: 'system/Patient.rs' });
    const res = await postToken(t, tokenForm(await assertion(rsa, aud), 'system/*.rs'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().scope).toBe('system/Patient.rs');
  });

  const refusals: [string, () => Promise<string>, number, string][] = [
    ['expired', () => assertion(client, aud, { expiresIn: -60 }), 401, 'invalid_client'],
    ['exp more than 5 minutes ahead', () => assertion(client, aud, { expiresIn: 3600 }), 401, 'invalid_client'],
    ['wrong aud', () => assertion(client, aud, { aud: 'https://elsewhere.example/auth/token' }), 401, 'invalid_client'],
    ['unknown kid', async () => assertion(client, aud, { kid: 'not-registered', key: (await newClientKey('ES384')).privateKey }), 401, 'invalid_client'],
    ['signed by another key under the registered kid', async () => assertion(client, aud, { key: (await newClientKey('ES384')).privateKey }), 401, 'invalid_client'],
    ['wrong algorithm (ES256)', async () => assertion(client, aud, { alg: 'ES256', key: (await newClientKey('ES256')).privateKey }), 401, 'invalid_client'],
    ['wrong algorithm (HS384, a shared secret under the registered kid)', () => assertion(client, aud, { alg: 'HS384', key: new TextEncoder().encode(JSON.stringify(client.publicJwk)) }), 401, 'invalid_client'],
    ['sub other than iss', () => assertion(client, aud, { sub: 'someone-else' }), 401, 'invalid_client'],
    ['unregistered client', () => assertion(client, aud, { iss: 'nobody-registered-this' }), 401, 'invalid_client'],
  ];
  for (const [what, make, status, error] of refusals) {
    test(`refused: ${what}`, async () => {
      const res = await postToken(t, tokenForm(await make()));
      expect(res.statusCode, res.body).toBe(status);
      const body = res.json();
      expect(body.error).toBe(error);
      expect(body.error_description).toMatch(/ \/ /);
      expect(body.access_token).toBeUndefined();
    });
  }

  test('refused: a replayed jti', async () => {
    const once = await assertion(client, aud);
    expect((await postToken(t, tokenForm(once))).statusCode).toBe(200);
    const again = await postToken(t, tokenForm(once));
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({ error: 'invalid_client' });
    expect(again.json().error_description).toMatch(/jti/);
  });

  test('refused: scopes beyond the registration, and non-system scopes', async () => {
    const narrow = await registerClient(t, { scope: 'system/Patient.rs' });
    for (const scope of ['system/Observation.rs', 'system/Patient.cruds system/Observation.rs', 'user/*.rs', 'patient/*.rs']) {
      const res = await postToken(t, tokenForm(await assertion(narrow, aud), scope));
      expect(res.statusCode, scope).toBe(400);
      expect(res.json().error, scope).toBe('invalid_scope');
    }
  });

  test('refused: wrong grant type, missing or wrong assertion type, form not urlencoded', async () => {
    const a = await assertion(client, aud);
    const grant = await postToken(t, tokenForm(a, 'system/*.rs', { grant_type: 'password' }));
    expect(grant.statusCode).toBe(400);
    expect(grant.json().error).toBe('unsupported_grant_type');
    const type = await postToken(t, tokenForm(a, 'system/*.rs', { client_assertion_type: 'urn:other' }));
    expect(type.json().error).toBe('invalid_request');
    const missing = await postToken(t, 'grant_type=client_credentials');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toBe('invalid_request');
    const json = await t.request({ method: 'POST', url: '/auth/token', payload: { grant_type: 'client_credentials' }, token: null });
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBe('invalid_request');
  });

  test('a refused assertion is audited under the client it claims to be', async () => {
    const res = await postToken(t, tokenForm(await assertion(client, aud, { expiresIn: -60 })));
    expect(res.statusCode).toBe(401);
    const db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 1 });
    try {
      const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_event WHERE agent = ${client.clientId} AND outcome <> '0'`.execute(db);
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    } finally {
      await db.destroy();
    }
  });
});

describe('two instances on one database', () => {
  test('share the jti replay store and the signing key', async () => {
    const other = await buildApp({ databaseUrl: inject('databaseUrl'), logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', exportDir });
    try {
      const once = await assertion(client, aud);
      const first = await postToken(t, tokenForm(once));
      expect(first.statusCode).toBe(200);
      const replay = await other.inject({ method: 'POST', url: '/auth/token', headers: formHeaders, payload: tokenForm(once) });
      expect(replay.statusCode).toBe(401);
      expect(replay.json().error).toBe('invalid_client');
      // A token from the first instance is good on the second.
      const read = await other.inject({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { authorization: `Bearer ${first.json().access_token}` } });
      expect(read.statusCode, read.body).toBe(200);
      // Racing the same fresh assertion at both: exactly one wins.
      const race = await assertion(client, aud);
      const answers = await Promise.all([postToken(t, tokenForm(race)), other.inject({ method: 'POST', url: '/auth/token', headers: formHeaders, payload: tokenForm(race) })]);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 401]);
    } finally {
      await other.close();
    }
  });
});

describe('rate limit', () => {
  test('the token endpoint is rate limited per address like every public path', async () => {
    const limited = await buildApp({ databaseUrl: inject('databaseUrl'), logger: false, auth: testAuth, rateLimitPerMinute: 3, profileEnforcement: 'declared', exportDir });
    try {
      const remoteAddress = `10.19.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await limited.inject({ method: 'POST', url: '/auth/token', headers: formHeaders, payload: tokenForm(await assertion(client, aud)), remoteAddress });
        statuses.push(res.statusCode);
        if (res.statusCode === 429) expect(res.headers['retry-after']).toMatch(/^\d+$/);
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toEqual([429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('token lifetime', () => {
  test('a token from the endpoint stops working when it expires', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-clients-'));
    const key = await newClientKey('ES384');
    const clientId = `file-client-${randomUUID()}`;
    const file = path.join(dir, 'clients.json');
    await writeFile(file, JSON.stringify([{ clientId, clues: 'DFIST000123', jwks: { keys: [key.publicJwk] }, scope: 'system/*.rs' }]));
    // Registered from CLIENTS_FILE, tokens living one second.
    const short = await buildApp({ databaseUrl: inject('databaseUrl'), logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', exportDir, authServer: { tokenLifetimeSeconds: 1, clientsFile: file } });
    try {
      const fromFile: SmartClient = { clientId, ...key };
      const res = await short.inject({ method: 'POST', url: '/auth/token', headers: formHeaders, payload: tokenForm(await assertion(fromFile, aud)) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().expires_in).toBe(1);
      const token = res.json().access_token as string;
      const headers = { authorization: `Bearer ${token}` };
      expect((await short.inject({ method: 'GET', url: '/fhir/Patient?_count=1', headers })).statusCode).toBe(200);
      // Past exp plus the verifier's 5 s clock tolerance.
      await new Promise((r) => setTimeout(r, 7000));
      const late = await short.inject({ method: 'GET', url: '/fhir/Patient?_count=1', headers });
      expect(late.statusCode).toBe(401);
      expect(String(late.headers['www-authenticate'])).toMatch(/invalid_token/);
    } finally {
      await short.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);
});

describe('CapabilityStatement', () => {
  test('rest.security names the SMART service and the token endpoint in the oauth-uris extension', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/metadata', token: null });
    const security = res.json().rest[0].security;
    expect(security.service[0].coding[0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' });
    const uris = security.extension.find((e: { url: string }) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    expect(uris.extension).toEqual([{ url: 'token', valueUri: aud }]);
  });
});

describe('npm run client', () => {
  test('register writes a client that then gets a token', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-cli-'));
    try {
      const key = await newClientKey('RS384');
      const file = path.join(dir, 'jwks.json');
      await writeFile(file, JSON.stringify({ keys: [key.publicJwk] }));
      const clientId = `cli-${randomUUID()}`;
      const { stdout } = await promisify(execFile)(process.execPath, ['src/auth/server/client-cli.ts', 'register', '--clues', 'DFIST000123', '--jwks-file', file, '--scope', 'system/*.rs', '--client-id', clientId], {
        env: { ...process.env, DATABASE_URL: inject('databaseUrl') },
      });
      expect(stdout.trim().split('\n').pop()).toBe(clientId);
      const res = await postToken(t, tokenForm(await assertion({ clientId, ...key }, aud)));
      expect(res.statusCode, res.body).toBe(200);
      const bad = await promisify(execFile)(process.execPath, ['src/auth/server/client-cli.ts', 'register', '--clues', 'DFIST000123', '--jwks-file', file, '--scope', 'user/*.rs'], { env: { ...process.env, DATABASE_URL: inject('databaseUrl') } }).catch((e: { code: number; stderr: string }) => e);
      expect(bad).toMatchObject({ code: 2 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
