/**
 * The FHIR core knows nothing of HTTP: an interaction takes a `FhirRequest`
 * and a `FhirContext` and returns a `FhirResult` (or throws a FhirError). The
 * HTTP layer adapts requests to this shape; bundles (transaction/batch) can
 * call the same functions, so behaviour is identical inside and outside them.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Db } from '../store/resource-store.ts';
import type { WriteHook } from './persist.ts';

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
    /** Conditional create criteria (https://hl7.org/fhir/R4/http.html#ccreate). */
    ifNoneExist?: string;
  };
}

export interface FhirResult {
  status: number;
  /** A resource, or resource JSON already serialised (served as stored, without re-parsing). */
  body?: Resource | string;
  headers?: Record<string, string>;
}

export type Validator = (resource: unknown, expectedType: string) => OperationOutcomeIssue[];

export interface FhirContext {
  db: Db;
  /** Absolute base URL of the FHIR endpoint (no trailing slash), for Location and fullUrl. */
  baseUrl: string;
  now(): Date;
  validate: Validator;
  /** Work that commits or fails with each write (search indexes, audit). */
  writeHooks?: readonly WriteHook[];
}

export type Interaction = (req: FhirRequest, ctx: FhirContext) => Promise<FhirResult>;
