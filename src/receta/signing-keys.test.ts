import { describe, expect, test } from 'vitest';
import { keyRing, newSigningKey, signDetached, verifyDetached } from './signing-keys.ts';

const payload = new TextEncoder().encode('[{"id":"a"}]');

describe('receta signing keys', () => {
  test('detached JWS: header..signature, kid in the header, verifies over the same bytes only', async () => {
    const ring = await keyRing({ keys: [await newSigningKey()] });
    const { jws, kid } = await signDetached(ring, payload);
    expect(jws).toMatch(/^[\w-]+\.\.[\w-]+$/);
    expect(JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString())).toMatchObject({ alg: 'ES256', kid });
    expect(await verifyDetached(ring, jws, payload)).toMatchObject({ valid: true, kid });
    expect(await verifyDetached(ring, jws, new TextEncoder().encode('[{"id":"b"}]'))).toMatchObject({ valid: false });
  });

  test('rotation: the first key signs, an older key still verifies its signatures, public JWKS has no private parts', async () => {
    const old = await newSigningKey();
    const before = await signDetached(await keyRing({ keys: [old] }), payload);
    const rotated = await keyRing({ keys: [await newSigningKey('RS256'), old] });
    expect(await verifyDetached(rotated, before.jws, payload)).toMatchObject({ valid: true, kid: old.kid });
    const after = await signDetached(rotated, payload);
    expect(after.kid).not.toBe(old.kid);
    expect(rotated.jwks.keys.every((k) => k.d === undefined)).toBe(true);
    expect(rotated.jwks.keys.map((k) => k.kid)).toEqual([after.kid, old.kid]);
  });

  test('a signature by a key the server no longer has is reported as unknown, not valid', async () => {
    const gone = await signDetached(await keyRing({ keys: [await newSigningKey()] }), payload);
    const result = await verifyDetached(await keyRing({ keys: [await newSigningKey()] }), gone.jws, payload);
    expect(result.valid).toBe(false);
    expect(!result.valid && result.reason.en).toMatch(/Unknown signing key/);
  });

  test('public-only keys verify but never sign', async () => {
    const key = await newSigningKey();
    const signed = await signDetached(await keyRing({ keys: [key] }), payload);
    const { d: _d, ...pub } = key;
    const ring = await keyRing({ keys: [pub] });
    expect(ring.signer).toBeUndefined();
    expect((await verifyDetached(ring, signed.jws, payload)).valid).toBe(true);
  });
});
