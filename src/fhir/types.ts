/**
 * The FHIR core knows nothing of HTTP: an interaction takes a `FhirRequest`
 * and a `FhirContext` and returns a `FhirResult` (or throws a FhirError). The
 * HTTP layer adapts requests to this shape; bundles (transaction/batch) can
 * call the same functions, so behaviour is identical inside and outside them.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Db, StoredVersion } from '../store/resource-store.ts';
import type { StampHook, WriteCheck, WriteHook, WriteStatement } from './persist.ts';
import type { Actor } from '../auth/actor.ts';
import type { AuditInfo } from '../audit/audit-info.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import type { RecetaContext } from '../receta/context.ts';
import type { ExportService } from '../export/export-service.ts';
import type { Deadline } from './deadline.ts';
import type { ImportService } from '../import/import-service.ts';
import type { WriteBatch } from './write-batch.ts';
import type { BundleMatches } from './bundle-matches.ts';
import type { KnownVersions } from './known-versions.ts';
import type { CursorKeys } from '../search/cursor-keys.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Query = Record<string, string | string[] | undefined>;

export interface FhirRequest {
  method: HttpMethod;
  resourceType?: string;
  id?: string;
  versionId?: string;
  query: Query;
  body?: unknown;
  contentType?: string;
  headers: {
    ifMatch?: string;
    ifNoneMatch?: string;
    ifModifiedSince?: string;
    prefer?: string;
    /** Read only by operations with their own rule (Bulk Data kick-off: application/fhir+json only; a measure's CSV); the edge negotiates the rest. */
    accept?: string;
    /** Conditional create criteria (https://hl7.org/fhir/R4/http.html#ccreate). */
    ifNoneExist?: string;
  };
  /** Id a transaction chose for a create before running it (never taken from HTTP). */
  assignedId?: string;
}

export interface FhirResult {
  status: number;
  /** A resource, or resource JSON already serialised (served as stored, without re-parsing). */
  body?: Resource | string;
  headers?: Record<string, string>;
  /** For a single stored resource: the patients whose compartment holds it (from the store, no parsing). */
  patients?: string[];
  /** A body too large to hold in memory (bulk export files), sent as it is read. */
  stream?: NodeJS.ReadableStream;
  /** Media type when not application/fhir+json (bulk export: NDJSON files, the JSON manifest). */
  contentType?: string;
}

export type Validator = (resource: unknown, expectedType: string) => OperationOutcomeIssue[];

/**
 * Profile validation of a resource that passed `validate` (the MX profiles);
 * async because some rules read referenced resources. Errors mean 422.
 */
export type ProfileValidator = (resource: Resource, ctx: FhirContext, profiles?: readonly string[]) => Promise<OperationOutcomeIssue[]>;

export interface FhirContext {
  db: Db;
  /** Absolute base URL of the FHIR endpoint (no trailing slash), for Location and fullUrl. */
  baseUrl: string;
  /** Every absolute base this server answers on (FHIR_BASE_URL, ALLOWED_HOSTS, the request's): references under them are stored relative. Absent: `baseUrl` only. */
  ownBaseUrls?: readonly string[];
  now(): Date;
  validate: Validator;
  /** Absent: no profile validation (base R4 validation only). */
  validateProfiles?: ProfileValidator;
  /** Work that commits or fails with each write (search indexes, audit). */
  writeHooks?: readonly WriteHook[];
  /** Refusals decided before a write is sent (see persist.ts). */
  writeChecks?: readonly WriteCheck[];
  /** SQL run in the same statement as each write (search indexes, audit). */
  writeStatements?: readonly WriteStatement[];
  /** Amendments to each version before it is written (the authoring unit of a clinical record). */
  stampHooks?: readonly StampHook[];
  /** The authenticated caller (absent only for internal calls). */
  actor?: Actor;
  /** Facts for this request's audit record; interactions add what they learn. */
  audit?: AuditInfo;
  /** Largest transaction/batch accepted (BUNDLE_MAX_ENTRIES). */
  maxBundleEntries?: number;
  /** Where bundles record their entries' audit events. */
  auditTrail?: AuditTrail;
  /** Receta electrónica: signing keys and which MedicationRequests are recetas (src/receta). */
  receta?: RecetaContext;
  /** Whether this existing resource changes only with If-Match (428 without): workflow state no client may overwrite blind. */
  requiresIfMatch?: (current: StoredVersion, ctx: FhirContext) => boolean | Promise<boolean>;
  /** Bulk Data export jobs (absent: $export answers 501). */
  exports?: ExportService;
  /** The request's time limit: no write may commit after it (see deadline.ts). Absent: none. */
  deadline?: Deadline;
  /** Bulk import jobs (absent: $import answers 501). */
  imports?: ImportService;
  /** Inside a transaction bundle: where creates wait to be sent together (write-batch.ts). */
  writeBatch?: WriteBatch;
  /** Inside a bundle: its match criteria, resolved together before its entries run (bundle-matches.ts). */
  matches?: BundleMatches;
  /** Inside an import chunk: the current versions of its resources, read together (known-versions.ts). */
  versions?: KnownVersions;
  /** The keys paging cursors are sealed with (absent: searches give no cursors and refuse any). */
  cursorKeys?: CursorKeys;
}

export type Interaction = (req: FhirRequest, ctx: FhirContext) => Promise<FhirResult>;
