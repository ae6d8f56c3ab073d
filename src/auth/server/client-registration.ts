/**
 * A system client's registration, checked before it is stored (pure): who it
 * is, which institution (CLUES) it acts for, where its public keys are, and
 * the `system/` scopes and role it may ever get.
 */
import { randomUUID } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { isRole, roles, type Role } from '../roles.ts';
import { parseScopes } from '../scopes.ts';

export interface ClientRegistration {
  clientId: string;
  clues: string;
  jwksUrl?: string;
  jwks?: JSONWebKeySet;
  scope: string;
  role: Role;
}

export class RegistrationError extends Error {
  readonly reason: { es: string; en: string };
  readonly field: string;
  constructor(reason: { es: string; en: string }, field: string) {
    super(reason.en);
    this.reason = reason;
    this.field = field;
  }
}

// CLUES: 2-letter state, 3-letter institution, 6 digits (e.g. DFIST000123, DFIMS000011).
const cluesPattern = /^[A-Z]{5}\d{6}$/;
const clientIdPattern = /^[A-Za-z0-9._~:-]{1,200}$/;

function text(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new RegistrationError({ es: `${field} debe ser un texto no vacío`, en: `${field} must be a non-empty string` }, field);
  return value.trim();
}

export function parseRegistration(input: unknown): ClientRegistration {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RegistrationError({ es: 'El registro debe ser un objeto JSON', en: 'The registration must be a JSON object' }, '');
  }
  const body = input as Record<string, unknown>;
  const clientId = text(body, 'clientId') ?? randomUUID();
  if (!clientIdPattern.test(clientId)) throw new RegistrationError({ es: 'clientId con caracteres no permitidos', en: 'clientId has characters that are not allowed' }, 'clientId');
  const clues = text(body, 'clues');
  if (!clues || !cluesPattern.test(clues)) throw new RegistrationError({ es: 'clues debe ser una CLUES válida (p. ej. DFIST000123)', en: 'clues must be a valid CLUES (e.g. DFIST000123)' }, 'clues');
  const jwksUrl = text(body, 'jwksUrl');
  const jwks = body.jwks;
  if ((jwksUrl === undefined) === (jwks === undefined)) throw new RegistrationError({ es: 'Indique exactamente uno: jwksUrl o jwks', en: 'Give exactly one of jwksUrl or jwks' }, 'jwks');
  if (jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new RegistrationError({ es: 'jwksUrl no es una URL', en: 'jwksUrl is not a URL' }, 'jwksUrl');
    }
    if (url.protocol !== 'https:' && url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') throw new RegistrationError({ es: 'jwksUrl debe ser https', en: 'jwksUrl must be https' }, 'jwksUrl');
  }
  if (jwks !== undefined) {
    const keys = (jwks as { keys?: unknown }).keys;
    const ok = Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string' && (k as { d?: unknown }).d === undefined);
    if (!ok) throw new RegistrationError({ es: 'jwks debe ser un JWK Set de llaves públicas (sin "d")', en: 'jwks must be a JWK Set of public keys (no "d")' }, 'jwks');
  }
  const scope = text(body, 'scope');
  const parsed = parseScopes(scope);
  const words = (scope ?? '').split(/\s+/).filter(Boolean);
  if (words.length === 0 || parsed.length !== words.length || parsed.some((s) => s.context !== 'system')) {
    throw new RegistrationError({ es: 'scope debe listar alcances system/… (p. ej. system/*.rs)', en: 'scope must list system/… scopes (e.g. system/*.rs)' }, 'scope');
  }
  const role = text(body, 'role') ?? 'institution';
  if (!isRole(role) || role === 'patient') throw new RegistrationError({ es: `role debe ser uno de: ${roles.filter((r) => r !== 'patient').join(', ')}`, en: `role must be one of: ${roles.filter((r) => r !== 'patient').join(', ')}` }, 'role');
  return { clientId, clues, ...(jwksUrl ? { jwksUrl } : {}), ...(jwks ? { jwks: jwks as JSONWebKeySet } : {}), scope: words.join(' '), role };
}
