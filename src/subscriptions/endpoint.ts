/**
 * Where a subscription may send: its endpoint must be https (http only when
 * the SUBSCRIPTION_ALLOWED_ENDPOINTS allow-list names it, e.g.
 * http://127.0.0.1 in tests), under an allowed prefix when the list is set,
 * and never a link-local or cloud metadata address (a classic server-side
 * request forgery target). Checked on the URL at creation and on the
 * resolved address at each delivery (DNS may change in between).
 */
import { isIP } from 'node:net';

export interface EndpointPolicy {
  /** URL prefixes; empty: any https endpoint. */
  allowed: readonly string[];
}

const metadataHosts: ReadonlySet<string> = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'metadata.azure.com']);

/** Link-local (169.254/16, fe80::/10) and the cloud metadata addresses. */
export function isForbiddenAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4.startsWith('169.254.') || v4 === '100.100.100.200';
  if (isIP(a) === 6) return /^fe[89ab]/.test(a) || a === 'fd00:ec2::254';
  return false;
}

function underPrefix(url: URL, prefix: string): boolean {
  let p: URL;
  try {
    p = new URL(prefix);
  } catch {
    return false;
  }
  const path = p.pathname.endsWith('/') ? p.pathname : `${p.pathname}/`;
  // A prefix without a port admits any port of that host (tests: http://127.0.0.1 with an ephemeral port).
  return p.protocol === url.protocol && p.hostname === url.hostname && (p.port === '' || p.port === url.port) && (p.pathname === '/' || `${url.pathname}/`.startsWith(path));
}

/** Undefined when acceptable; otherwise why not (English and Spanish). */
export function endpointProblem(raw: string | undefined, policy: EndpointPolicy): { es: string; en: string } | undefined {
  let url: URL;
  try {
    url = new URL(raw ?? '');
  } catch {
    return { es: 'channel.endpoint debe ser una URL absoluta', en: 'channel.endpoint must be an absolute URL' };
  }
  if (url.username || url.password) return { es: 'channel.endpoint no lleva credenciales en la URL', en: 'channel.endpoint must not carry credentials in the URL' };
  const host = url.hostname.toLowerCase();
  if (isForbiddenAddress(host) || metadataHosts.has(host)) return { es: `No se envían notificaciones a ${host} (dirección local de enlace o de metadatos)`, en: `Notifications are never sent to ${host} (link-local or metadata address)` };
  const listed = policy.allowed.some((p) => underPrefix(url, p));
  if (policy.allowed.length > 0 && !listed) return { es: `channel.endpoint no está en SUBSCRIPTION_ALLOWED_ENDPOINTS`, en: `channel.endpoint is not in SUBSCRIPTION_ALLOWED_ENDPOINTS` };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && listed)) return { es: 'channel.endpoint debe usar https', en: 'channel.endpoint must use https' };
  return undefined;
}
