/** A notification receiver on 127.0.0.1 for subscription tests: records every POST; `status` makes it fail on purpose. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import type { AppOptions } from '../../src/app.ts';
import { testAuth } from './tokens.ts';

export interface Received {
  at: number;
  path: string;
  /** The SubscriptionStatus type: handshake, heartbeat or event-notification. */
  type: string;
  headers: IncomingHttpHeaders;
  raw: string;
  bundle: Bundle;
}

export interface Receiver {
  url: string;
  /** Event notifications accepted, in arrival order. */
  received: Received[];
  /** Everything accepted, handshakes and heartbeats included. */
  all: Received[];
  /** Answer with this status (e.g. 503: "down"); 200 by default. */
  status: number;
  close(): Promise<void>;
  /** Waits until `n` notifications of `type` (default event-notification) reached `path` (or any path), failing after `ms`. */
  waitFor(n: number, ms?: number, path?: string, type?: string): Promise<Received[]>;
}

export async function startReceiver(): Promise<Receiver> {
  const r = { received: [] as Received[], all: [] as Received[], status: 200 } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (r.status < 300) {
        const bundle = JSON.parse(raw) as Bundle;
        const got: Received = { at: Date.now(), path: req.url ?? '', type: statusOf(bundle).type ?? '', headers: req.headers, raw, bundle };
        r.all.push(got);
        if (got.type === 'event-notification') r.received.push(got);
      }
      res.statusCode = r.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  r.waitFor = async (n, ms = 5000, path, type = 'event-notification') => {
    const deadline = Date.now() + ms;
    const mine = () => r.all.filter((x) => (path === undefined || x.path === path) && x.type === type);
    while (mine().length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} ${type} notifications at ${path ?? 'any path'}, got ${mine().length}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return mine();
  };
  return r;
}

/** The SubscriptionStatus of a notification: its event numbers and events-since-subscription-start. */
export function statusOf(b: Bundle): { eventNumbers: number[]; since: number; type?: string; focus: string[] } {
  const p = b.entry?.[0]?.resource as Parameters;
  const events = (p.parameter ?? []).filter((x) => x.name === 'notification-event');
  return {
    eventNumbers: events.map((e) => Number(e.part?.find((q) => q.name === 'event-number')?.valueString)),
    since: Number(p.parameter?.find((x) => x.name === 'events-since-subscription-start')?.valueString),
    type: p.parameter?.find((x) => x.name === 'type')?.valueCode,
    focus: events.flatMap((e) => e.part?.filter((q) => q.name === 'focus').map((q) => q.valueReference?.reference ?? '') ?? []),
  };
}

/**
 * A server instance as the subscription tests run it: delivery worker on,
 * a fast poll, receivers on 127.0.0.1 allowed, retries in milliseconds.
 */
export function subscriptionAppOptions(databaseUrl: string): AppOptions {
  return {
    databaseUrl,
    logger: false,
    auth: testAuth,
    rateLimitPerMinute: 0,
    profileEnforcement: 'declared',
    subscriptions: { worker: true, pollMs: 50, endpoints: { allowed: ['http://127.0.0.1'] }, retry: { baseMs: 50, maxDelayMs: 300, giveUpAfterMs: 24 * 3_600_000 } },
  };
}
