/**
 * patch: https://hl7.org/fhir/R4/http.html#patch, with JSON Patch (RFC 6902).
 * The patched resource goes through the same validation as an update.
 */
import jsonpatch from 'fast-json-patch';
import type { Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError, gone, issue, notFound, unprocessable, unsupportedMediaType } from './errors.ts';
import { requireConformance } from './resource-body.ts';
import { refuseConformanceWrite } from './structure-definitions.ts';
import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { stamp } from './versioning.ts';
import { writeVersion } from './versioned-write.ts';
import { writeResult } from './write-result.ts';
import { holdsNumbers, markHoldsNumbers, moveNumber, parseJson } from '../json/lossless.ts';

export const jsonPatchType = 'application/json-patch+json';

export async function patch(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  const id = req.id ?? '';
  if (!req.contentType?.startsWith(jsonPatchType)) {
    throw unsupportedMediaType({ es: `PATCH requiere Content-Type ${jsonPatchType} (JSON Patch)`, en: `PATCH requires Content-Type ${jsonPatchType} (JSON Patch)` });
  }
  const operations = req.body;
  if (!Array.isArray(operations)) {
    throw badRequest({ es: 'El cuerpo de un JSON Patch debe ser un arreglo de operaciones', en: 'A JSON Patch body must be an array of operations' });
  }
  refuseConformanceWrite(type, id);
  const now = ctx.now();
  const result = await writeVersion(ctx, type, id, req.headers.ifMatch, async (current) => {
    if (!current) {
      throw notFound({ es: `No existe ${type}/${id}`, en: `${type}/${id} not found` }, `${type}.id`);
    }
    if (current.deleted || current.content === null) {
      throw gone({ es: `${type}/${id} fue eliminado; no se puede parchar`, en: `${type}/${id} was deleted; it cannot be patched` });
    }
    const patched = applyJsonPatch(parseJson(current.content) as Resource, operations);
    if (patched.resourceType !== type || patched.id !== id) {
      throw unprocessable({ es: 'El parche no puede cambiar resourceType ni id', en: 'A patch cannot change resourceType or id' }, `${type}.id`);
    }
    const issues = ctx.validate(patched, type);
    if (issues.length > 0) {
      throw new FhirError(422, issues);
    }
    await requireConformance(patched, ctx);
    return stamp(patched, id, current.versionId + 1, now);
  });
  if (!result) {
    throw new Error('patch always writes');
  }
  return writeResult(200, result.stored, req.headers.prefer, { es: `${type}/${id} actualizado por parche`, en: `${type}/${id} patched` }, ctx);
}

function applyJsonPatch(document: Resource, operations: unknown[]): Resource {
  try {
    // validate = true checks each operation's shape; banPrototypeModifications keeps __proto__ out.
    const patched = jsonpatch.applyPatch(document, operations as jsonpatch.Operation[], true, true, true).newDocument;
    keepNumberTexts(patched, document, operations);
    return patched;
  } catch (err) {
    if (err instanceof jsonpatch.JsonPatchError) {
      const where = `operación ${err.index ?? '?'} (${JSON.stringify(err.operation ?? {})})`;
      const status = err.name === 'TEST_OPERATION_FAILED' || err.name === 'OPERATION_PATH_UNRESOLVABLE' || err.name === 'OPERATION_FROM_UNRESOLVABLE' ? 422 : 400;
      throw new FhirError(status, [
        issue(status === 422 ? 'processing' : 'invalid', { es: `No se pudo aplicar el parche en la ${where}: ${err.name}`, en: `Could not apply the patch at operation ${err.index ?? '?'}: ${err.name} (${err.message.split('\n')[0]})` }, `operation[${err.index ?? 0}]`),
      ]);
    }
    throw err;
  }
}

/**
 * A number an operation adds keeps the text it was sent with (`1.50` stays
 * `1.50`, see json/lossless.ts); the patched resource is then written with
 * the remembered texts of both the stored version and the operations.
 */
function keepNumberTexts(patched: Resource, document: Resource, operations: unknown[]): void {
  let holds = holdsNumbers(document);
  for (const op of operations as { op?: unknown; path?: unknown; value?: unknown }[]) {
    if ((op.op !== 'add' && op.op !== 'replace') || typeof op.path !== 'string') continue;
    if (holdsNumbers(op)) holds = true;
    if (typeof op.value !== 'number') continue;
    const steps = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let holder: unknown = patched;
    for (const step of steps.slice(0, -1)) holder = holder !== null && typeof holder === 'object' ? (holder as Record<string, unknown>)[step] : undefined;
    if (holder === null || typeof holder !== 'object') continue;
    const last = steps.at(-1) ?? '';
    const key = Array.isArray(holder) && last === '-' ? String(holder.length - 1) : last;
    moveNumber(op, 'value', holder, key);
  }
  if (holds) markHoldsNumbers(patched);
}
