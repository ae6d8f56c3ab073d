/**
 * Every error leaves as an OperationOutcome: ours (FhirError) with the status
 * they carry, Fastify's own (bad JSON, body too large, unsupported media
 * type) mapped to FHIR issue codes, anything else as a 500 whose details stay
 * in the log (never a stack trace on the wire).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { badRequest, FhirError, internalError, isFhirError, timedOut, tooLarge, unavailable, unsupportedMediaType } from '../fhir/errors.ts';
import { isDatabaseUnavailable, isTimeout, retryAfterSeconds } from '../store/db-errors.ts';
import { sendFhir } from './send.ts';

export function registerErrorHandler(app: FastifyInstance, bodyLimit: number, requestTimeoutMs: number): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const fhirError = toFhirError(err, bodyLimit, requestTimeoutMs);
    if (fhirError.status >= 500) {
      request.log.error({ err }, fhirError.status === 503 ? 'database unavailable' : 'unhandled error');
    }
    return sendFhir(reply, { status: fhirError.status, headers: fhirError.headers, body: fhirError.outcome });
  });
}

/** Any error as the FhirError it is answered with. */
export function toFhirError(err: FastifyError, bodyLimit: number, requestTimeoutMs: number): FhirError {
  if (isFhirError(err)) return err;
  if (isTimeout(err)) return timedOut(requestTimeoutMs);
  if (isDatabaseUnavailable(err)) return unavailable(undefined, retryAfterSeconds);
  return fromFastify(err, bodyLimit);
}

function fromFastify(err: FastifyError, bodyLimit: number): FhirError {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return badRequest({ es: 'La URL no es válida: su codificación por ciento no es UTF-8 válido', en: 'Invalid URL: its percent-encoding is not valid UTF-8' }, 'url');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new FhirError(414, [{ severity: 'error', code: 'too-long', details: { text: 'Un segmento de la URL es demasiado largo / A URL segment is too long' }, expression: ['url'] }]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType({
        es: 'Tipo de contenido no soportado: use application/fhir+json o application/json (JSON Patch: application/json-patch+json); XML no se admite',
        en: 'Unsupported content type: use application/fhir+json or application/json (JSON Patch: application/json-patch+json); XML is not supported',
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return tooLarge({ es: `El cuerpo excede el límite de ${bodyLimit} bytes`, en: `Body exceeds the ${bodyLimit}-byte limit` });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest({ es: 'El cuerpo JSON está vacío', en: 'The JSON body is empty' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest({ es: 'Content-Length no coincide con el cuerpo recibido', en: 'Content-Length does not match the body received' });
    default:
      break;
  }
  if (err.statusCode === 400 && /prototype|constructor/i.test(err.message)) {
    return badRequest({ es: 'El JSON contiene claves prohibidas (__proto__ o constructor)', en: 'The JSON contains forbidden keys (__proto__ or constructor)' }, undefined, 'security');
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return badRequest({ es: `JSON mal formado: ${err.message}`, en: `Malformed JSON: ${err.message}` }, undefined, 'structure');
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new FhirError(err.statusCode, [
      { severity: 'error', code: 'invalid', details: { text: `Petición rechazada (${err.code ?? err.statusCode}) / Request rejected (${err.code ?? err.statusCode}): ${err.message}` } },
    ]);
  }
  return internalError();
}
