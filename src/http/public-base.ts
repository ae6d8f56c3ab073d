/**
 * The absolute base URL written into Location, fullUrl and paging links. A
 * client's Host header must not steer it (a link to `evil.example` in a
 * clinical answer is a phishing vector and poisons caches): FHIR_BASE_URL
 * when set; else the request's Host only if it is in ALLOWED_HOSTS; else the
 * address the server listens on.
 */
import type { FastifyRequest } from 'fastify';

export interface PublicBaseOptions {
  basePath: string;
  publicBaseUrl?: string;
  /** Host header values (`host` or `host:port`, lower case) trusted to name the server. */
  allowedHosts?: readonly string[];
}

export function publicBase(options: PublicBaseOptions): (request: FastifyRequest) => string {
  if (options.publicBaseUrl) {
    const fixed = options.publicBaseUrl;
    return () => fixed;
  }
  const allowed = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
  return (request) => {
    const host = request.host.toLowerCase();
    // An entry without a port allows that host on any port.
    if (allowed.has(host) || allowed.has(request.hostname.toLowerCase())) return `${request.protocol}://${host}${options.basePath}`;
    return `${request.protocol}://${listening(request)}${options.basePath}`;
  };
}

/** Per connection: its local address does not change, and asking the socket for it is a system call per request. */
const bySocket = new WeakMap<object, string>();

/** The local address and port the request came in on (the server's own, not the client's say). */
function listening(request: FastifyRequest): string {
  const socket = request.socket as object | undefined;
  const known = socket && bySocket.get(socket);
  if (known) return known;
  const found = listeningNow(request);
  if (socket && found !== 'localhost') bySocket.set(socket, found);
  return found;
}

function listeningNow(request: FastifyRequest): string {
  const address = request.server.server.address();
  if (address && typeof address === 'object') {
    // Bound to every interface: the one this connection arrived on.
    const bound = address.address === '::' || address.address === '0.0.0.0' ? (request.socket.localAddress ?? '127.0.0.1') : address.address;
    const ip = bound.replace(/^::ffff:/, '');
    return `${ip.includes(':') ? `[${ip}]` : ip}:${address.port}`;
  }
  // Not listening (requests injected in-process): nothing names the server but itself.
  return 'localhost';
}
