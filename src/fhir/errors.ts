/**
 * The one error type of the server. Anything that goes wrong in a FHIR
 * interaction is thrown as a `FhirError`; the HTTP layer turns it into an
 * OperationOutcome with the status it carries. Messages are bilingual:
 * Spanish first, English after ("… / …"), because the developers who read
 * them first are building Mexican clinic software.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueCode = OperationOutcomeIssue['code'];

export interface Message {
  es: string;
  en: string;
}

export function bilingual(message: Message): string {
  return `${message.es} / ${message.en}`;
}

/** Builds one error issue with a bilingual message and, when known, the element path. */
export function issue(code: IssueCode, message: Message, expression?: string | string[], severity: OperationOutcomeIssue['severity'] = 'error'): OperationOutcomeIssue {
  const out: OperationOutcomeIssue = { severity, code, details: { text: bilingual(message) } };
  if (expression !== undefined) {
    out.expression = Array.isArray(expression) ? expression : [expression];
  }
  return out;
}

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  readonly headers: Record<string, string>;

  constructor(status: number, issues: OperationOutcomeIssue[], headers: Record<string, string> = {}) {
    super(issues.map((i) => i.details?.text ?? i.code).join('; '));
    this.name = 'FhirError';
    this.status = status;
    this.outcome = outcome(issues);
    this.headers = headers;
  }
}

export function isFhirError(err: unknown): err is FhirError {
  return err instanceof FhirError;
}

// Factories, one per status the server answers with. `expression` is the
// FHIRPath-like location of the problem (element path, or the HTTP parameter/header).

export function badRequest(message: Message, expression?: string | string[], code: IssueCode = 'invalid'): FhirError {
  return new FhirError(400, [issue(code, message, expression)]);
}

export function invalidResource(issues: OperationOutcomeIssue[], status = 400): FhirError {
  return new FhirError(status, issues);
}

export function notFound(message: Message, expression?: string): FhirError {
  return new FhirError(404, [issue('not-found', message, expression)]);
}

export function forbidden(message: Message, expression?: string): FhirError {
  return new FhirError(403, [issue('forbidden', message, expression)]);
}

export function gone(message: Message, headers: Record<string, string> = {}): FhirError {
  return new FhirError(410, [issue('deleted', message)], headers);
}

export function conflict(message: Message, expression?: string): FhirError {
  return new FhirError(409, [issue('conflict', message, expression)]);
}

export function preconditionFailed(message: Message, expression?: string): FhirError {
  return new FhirError(412, [issue('conflict', message, expression)]);
}

export function unprocessable(message: Message, expression?: string | string[], code: IssueCode = 'processing'): FhirError {
  return new FhirError(422, [issue(code, message, expression)]);
}

export function methodNotAllowed(method: string, path: string, allow: string[]): FhirError {
  return new FhirError(
    405,
    [issue('not-supported', { es: `Método ${method} no permitido en ${path}; permitidos: ${allow.join(', ')}`, en: `Method ${method} not allowed on ${path}; allowed: ${allow.join(', ')}` })],
    { allow: allow.join(', ') },
  );
}

export function notAcceptable(message: Message, expression?: string): FhirError {
  return new FhirError(406, [issue('not-supported', message, expression)]);
}

export function unsupportedMediaType(message: Message): FhirError {
  return new FhirError(415, [issue('not-supported', message, 'Content-Type')]);
}

export function tooLarge(message: Message): FhirError {
  return new FhirError(413, [issue('too-long', message)]);
}

export function internalError(): FhirError {
  return new FhirError(500, [issue('exception', { es: 'Error interno del servidor; el incidente quedó registrado con el id de la petición', en: 'Internal server error; the incident was logged with the request id' })]);
}
