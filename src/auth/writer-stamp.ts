/**
 * Every version records who wrote it (NOM-024: every change identifies its
 * user): a meta extension with the token's subject and, when the token has
 * one, its institution's CLUES. Whatever a client sends there is replaced,
 * so nobody can write in another's name. (The AuditEvent of the write, in the
 * same transaction, holds the same facts plus role, client and address.)
 */
import type { Extension, Resource } from '@medplum/fhirtypes';
import { subjectSystem } from '../audit/audit-event.ts';
import type { StampHook } from '../fhir/persist.ts';
import { cluesSystem } from '../mx/systems.ts';
import { setStoredContent, storedResource } from '../store/stored-content.ts';

export const writerExtensionUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-registrado-por';

export const stampWriter: StampHook = (stored, ctx) => {
  const actor = ctx.actor;
  if (!actor || stored.content === null) {
    return;
  }
  const resource = storedResource<Resource & { meta?: { extension?: Extension[] } }>(stored)!;
  const writer: Extension = {
    url: writerExtensionUrl,
    extension: [
      { url: 'sujeto', valueIdentifier: { system: subjectSystem, value: actor.subject } },
      ...(actor.clues ? [{ url: 'clues', valueIdentifier: { system: cluesSystem, value: actor.clues } }] : []),
    ],
  };
  const others = (resource.meta?.extension ?? []).filter((e) => e.url !== writerExtensionUrl);
  resource.meta = { ...resource.meta, extension: [...others, writer] };
  setStoredContent(stored, resource);
};
