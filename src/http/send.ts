import type { FastifyReply } from 'fastify';
import type { FhirResult } from '../fhir/types.ts';
import { stringifyJson } from '../json/lossless.ts';

export const fhirJson = 'application/fhir+json; charset=utf-8';

/** Writes an interaction result; string bodies are stored JSON, sent as they are. */
export function sendFhir(reply: FastifyReply, result: FhirResult): FastifyReply {
  reply.code(result.status);
  if (result.headers) {
    reply.headers(result.headers);
  }
  if (result.stream) {
    return reply.type(result.contentType ?? 'application/octet-stream').send(result.stream);
  }
  if (result.body === undefined || result.status === 304 || result.status === 204) {
    return reply.send();
  }
  reply.type(result.contentType ?? fhirJson);
  return reply.send(typeof result.body === 'string' ? result.body : stringifyJson(result.body));
}
