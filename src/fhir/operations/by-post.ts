/**
 * Every operation served by GET can also be invoked by POST, the basic form
 * in R4 (https://hl7.org/fhir/R4/operations.html#executing): with no body,
 * or with a Parameters resource whose primitive parameters are the same as
 * the GET's URL parameters. fhir-kit-client's operation() uses POST by default.
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../errors.ts';
import type { Interaction, Query } from '../types.ts';

/** The GET handler, reached by POST: the Parameters body becomes query parameters (repeats add up, as in a URL). */
export function byPost(handler: Interaction): Interaction {
  return (req, ctx) => handler({ ...req, query: withParameters(req.query, req.body), body: undefined }, ctx);
}

export function withParameters(query: Query, body: unknown): Query {
  if (body === undefined || body === null) return query;
  if (typeof body !== 'object' || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
    throw badRequest({ es: 'El cuerpo de una operación invocada por POST debe ser un recurso Parameters (o ninguno)', en: 'The body of an operation invoked by POST must be a Parameters resource (or none)' }, 'Parameters');
  }
  const out: Query = { ...query };
  ((body as Parameters).parameter ?? []).forEach((p, i) => {
    const where = `Parameters.parameter[${i}]`;
    if (typeof p?.name !== 'string' || p.name === '') throw badRequest({ es: `${where} no tiene name`, en: `${where} has no name` }, where);
    const value = primitiveValue(p);
    if (value === undefined) {
      throw badRequest(
        { es: `${where} (${p.name}): esta operación solo admite parámetros de tipo primitivo o Reference`, en: `${where} (${p.name}): this operation takes only primitive or Reference parameters` },
        where,
        'not-supported',
      );
    }
    const prev = out[p.name];
    out[p.name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  });
  return out;
}

function primitiveValue(p: ParametersParameter): string | undefined {
  if (p.resource !== undefined || p.part !== undefined) return undefined;
  const entries = Object.entries(p).filter(([k]) => k.startsWith('value'));
  if (entries.length !== 1) return undefined;
  const [key, value] = entries[0]!;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (key === 'valueReference' && typeof (value as { reference?: unknown }).reference === 'string') return (value as { reference: string }).reference;
  return undefined;
}
