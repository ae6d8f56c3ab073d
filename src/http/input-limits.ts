/**
 * Input checked once, at the edge, before any interaction sees it: the URL
 * (path and query), the header values the server uses as data, the token's
 * claims and the body must be acceptable text (src/fhir/input-text.ts), and
 * a request may carry at most `maxParameters` parameters. Registered after
 * authentication so that a refused request is still audited, as who sent it.
 */
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../fhir/errors.ts';
import { badText, checkText, decodeStrict, findBadText, parseQueryStrict } from '../fhir/input-text.ts';

const maxRequestIdLength = 200;

/** Headers whose values reach the store, the search compiler or the audit trail. */
const dataHeaders = ['if-match', 'if-none-match', 'if-modified-since', 'prefer', 'x-request-id'] as const;

/** Token claims copied into the actor (and so into audit rows and stamps). */
const claims = [
  ['subject', 'sub'],
  ['clues', 'clues'],
  ['clientId', 'client_id'],
  ['name', 'name'],
  ['patient', 'patient'],
  ['fhirUser', 'fhirUser'],
  ['scope', 'scope'],
] as const;

export function registerInputLimits(app: FastifyInstance): void {
  // Callback hooks (nothing here awaits): an async hook costs a promise and a microtask turn per request. A throw is answered as from an async hook.
  app.addHook('onRequest', (request, _reply, done) => {
    checkUrl(request.url);
    for (const name of dataHeaders) {
      const value = request.headers[name];
      if (typeof value === 'string') checkText(value, headerName(name));
    }
    // The request id goes into every log line and audit record.
    const requestId = request.headers['x-request-id'];
    if (typeof requestId === 'string' && requestId.length > maxRequestIdLength) {
      throw badRequest({ es: `X-Request-Id excede ${maxRequestIdLength} caracteres`, en: `X-Request-Id exceeds ${maxRequestIdLength} characters` }, 'X-Request-Id', 'too-long');
    }
    const ifNoneExist = request.headers['if-none-exist'];
    if (typeof ifNoneExist === 'string') parseQueryStrict(ifNoneExist, 'If-None-Exist');
    const actor = request.actor;
    if (actor) {
      for (const [field, claim] of claims) {
        const value = actor[field];
        if (typeof value === 'string') checkText(value, `Authorization (claim ${claim})`);
      }
    }
    done();
  });

  // Fastify decodes bodies with toString('utf8'), which turns invalid bytes into U+FFFD silently: check the bytes as they
  // arrive. The guard only takes note (an error on the stream would have no listener when no parser reads the body).
  app.addHook('preParsing', (request, _reply, payload, done) => done(null, hasBody(request) ? payload.pipe(utf8Guard(request)) : payload));

  app.addHook('preValidation', (request, _reply, done) => {
    checkBody(request);
    done();
  });
}

function checkBody(request: FastifyRequest): void {
  if (invalidUtf8.has(request)) throw badText('body', 'encoding');
  const body = request.body;
  if (typeof body === 'string') {
    if (String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) parseQueryStrict(body, 'body');
    else checkText(body, 'body');
    return;
  }
  if (body !== null && typeof body === 'object') {
    const type = (body as { resourceType?: unknown }).resourceType;
    const bad = findBadText(body, typeof type === 'string' && /^[A-Z][A-Za-z]{1,63}$/.test(type) ? type : 'body');
    if (bad) throw badText(bad.expression, bad.problem);
  }
}

function checkUrl(url: string): void {
  const q = url.indexOf('?');
  const path = decodeStrict(q < 0 ? url : url.slice(0, q), false);
  if (path === undefined) throw badText('url', 'encoding');
  checkText(path, 'url');
  if (q >= 0) parseQueryStrict(url.slice(q + 1), 'url');
}

function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function hasBody(request: FastifyRequest): boolean {
  return request.headers['content-length'] !== undefined ? request.headers['content-length'] !== '0' : request.headers['transfer-encoding'] !== undefined;
}

const invalidUtf8 = new WeakSet<FastifyRequest>();

function utf8Guard(request: FastifyRequest): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let valid = true;
  const check = (chunk?: Buffer) => {
    if (!valid) return;
    try {
      if (chunk) decoder.decode(chunk, { stream: true });
      else decoder.decode();
    } catch {
      valid = false;
      invalidUtf8.add(request);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      check(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      check();
      callback();
    },
  });
}
