/**
 * POST MedicationRequest/{id}/$sign: the prescriber signs the receta (the
 * whole group sharing the prescription's groupIdentifier). Answers a
 * Parameters with the folio issued, the signature Provenance and the signed
 * versions. Rules and transaction: src/receta/sign.ts.
 */
import type { OperationDefinition, Parameters, Provenance } from '@medplum/fhirtypes';
import { recetaContext } from '../../receta/require-context.ts';
import { signReceta } from '../../receta/sign.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';
import { parseJson } from '../../json/lossless.ts';

export const signOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'MedicationRequest-sign',
  url: 'https://ecu-fhir.org/fhir/OperationDefinition/MedicationRequest-sign',
  name: 'sign',
  title: 'Firmar receta / Sign a receta',
  status: 'active',
  kind: 'operation',
  code: 'sign',
  affectsState: true,
  resource: ['MedicationRequest'],
  system: false,
  type: false,
  instance: true,
  parameter: [
    { name: 'folio', use: 'out', min: 1, max: '1', type: 'Identifier' },
    { name: 'provenance', use: 'out', min: 1, max: '1', type: 'Provenance' },
    { name: 'medicationRequest', use: 'out', min: 1, max: '*', type: 'Reference' },
  ],
};

export async function signOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const signed = await signReceta(ctx, recetaContext(ctx), req.id ?? '');
  const body: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'folio', valueIdentifier: signed.folio },
      { name: 'provenance', resource: parseJson(signed.provenance.content ?? '{}') as Provenance },
      ...signed.requests.map((r) => ({ name: 'medicationRequest', valueReference: { reference: `MedicationRequest/${r.id}/_history/${r.versionId}` } })),
    ],
  };
  return { status: 200, body, patients: signed.provenance.patients };
}
