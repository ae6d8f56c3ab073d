/**
 * Fastify answers some requests before any route or hook runs: a URL that
 * cannot be decoded (`frameworkErrors`), and, on the socket itself, headers
 * over the size limit (431), malformed HTTP (400) and requests not received
 * within the time limit (408) (`clientErrorHandler`). Its own bodies are not
 * OperationOutcomes; these two options make them so.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { outcome, issue, type IssueCode, type Message } from '../fhir/errors.ts';
import { toFhirError } from './error-handler.ts';
import { sendFhir } from './send.ts';

/** For the `frameworkErrors` server option: the error goes through the one error handler. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  // These requests never reach a route, so the app's error handler is not theirs: answer here, with the same mapping.
  const fhirError = toFhirError(err, 0, 0);
  void sendFhir(reply, { status: fhirError.status, headers: fhirError.headers, body: fhirError.outcome });
}

const socketErrors: Record<string, { status: number; code: IssueCode; message: Message }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'too-long', message: { es: 'Los encabezados o la URL exceden el tamaño máximo (16 KB); use POST _search para búsquedas largas', en: 'Headers or URL exceed the maximum size (16 KB); use POST _search for long searches' } },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'timeout', message: { es: 'La petición no llegó completa a tiempo', en: 'The request was not received in time' } },
  ERR_HTTP_REQUEST_HEADERS_TIMEOUT: { status: 408, code: 'timeout', message: { es: 'Los encabezados no llegaron a tiempo', en: 'The headers were not received in time' } },
};

const malformed = { status: 400, code: 'structure' as IssueCode, message: { es: 'Petición HTTP mal formada (p. ej. Content-Length que no coincide con el cuerpo)', en: 'Malformed HTTP request (e.g. a Content-Length that does not match the body)' } };

/** For the `clientErrorHandler` server option: answers on the raw socket, then closes it (as Node does). */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = socketErrors[err.code ?? ''] ?? malformed;
  const body = JSON.stringify(outcome([issue(code, message)]));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
