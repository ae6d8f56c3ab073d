/**
 * GET|POST MedicationRequest/{id}/$verify: is the receta's signature valid,
 * and did its content change since signing? Answers a Parameters: `result`
 * (valid and unchanged), `signatureValid`, `contentUnchanged`, `message`,
 * `kid`, `folio`, `provenance`, `signer`, `signedAt`, and one `changed` per
 * altered prescription. Logic: src/receta/verify.ts.
 */
import type { OperationDefinition, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { bilingual } from '../errors.ts';
import { recetaContext } from '../../receta/require-context.ts';
import { verifyReceta } from '../../receta/verify.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

export const verifyOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'MedicationRequest-verify',
  url: 'https://ecu-fhir.org/fhir/OperationDefinition/MedicationRequest-verify',
  name: 'verify',
  title: 'Verificar la firma de una receta / Verify a receta signature',
  status: 'active',
  kind: 'operation',
  code: 'verify',
  affectsState: false,
  resource: ['MedicationRequest'],
  system: false,
  type: false,
  instance: true,
  parameter: [
    { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean' },
    { name: 'signatureValid', use: 'out', min: 1, max: '1', type: 'boolean' },
    { name: 'contentUnchanged', use: 'out', min: 1, max: '1', type: 'boolean' },
    { name: 'message', use: 'out', min: 1, max: '1', type: 'string' },
    { name: 'kid', use: 'out', min: 0, max: '1', type: 'string' },
    { name: 'folio', use: 'out', min: 1, max: '1', type: 'Identifier' },
    { name: 'provenance', use: 'out', min: 1, max: '1', type: 'Reference' },
    { name: 'signer', use: 'out', min: 1, max: '1', type: 'Reference' },
    { name: 'signedAt', use: 'out', min: 1, max: '1', type: 'instant' },
    { name: 'changed', use: 'out', min: 0, max: '*', type: 'Reference' },
  ],
};

export async function verifyOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const v = await verifyReceta(ctx, recetaContext(ctx), req.id ?? '');
  const parameter: ParametersParameter[] = [
    { name: 'result', valueBoolean: v.signatureValid && v.contentUnchanged },
    { name: 'signatureValid', valueBoolean: v.signatureValid },
    { name: 'contentUnchanged', valueBoolean: v.contentUnchanged },
    { name: 'message', valueString: bilingual(v.message) },
    ...(v.kid ? [{ name: 'kid', valueString: v.kid }] : []),
    { name: 'folio', valueIdentifier: v.folio },
    { name: 'provenance', valueReference: { reference: `Provenance/${v.provenanceId}` } },
    { name: 'signer', valueReference: { reference: v.signer } },
    { name: 'signedAt', valueInstant: v.signedAt.toISOString() },
    ...v.changed.map((id) => ({ name: 'changed', valueReference: { reference: `MedicationRequest/${id}` } })),
  ];
  const body: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, body, patients: v.patients };
}
