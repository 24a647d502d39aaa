/** Parsing of `sha256/<base64>` pins, shared by the policy validator and the CLI. */

export type PinParseResult = { ok: true; pin: string; digest: Uint8Array } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export function parsePin(text: string): PinParseResult {
  if (!text.startsWith('sha256/')) {
    const hint = /^sha1\//i.test(text) ? ' (SHA-1 pins are not accepted)' : '';
    return { ok: false, reason: `a pin must start with "sha256/"${hint}` };
  }
  const body = text.slice('sha256/'.length);
  if (!BASE64.test(body)) {
    return { ok: false, reason: 'expected 44 characters of standard base64 (a SHA-256 digest) after "sha256/"' };
  }
  const digest = new Uint8Array(Buffer.from(body, 'base64'));
  if (digest.length !== 32 || Buffer.from(digest).toString('base64') !== body) {
    return { ok: false, reason: 'the base64 after "sha256/" is not a canonical 32-byte SHA-256 digest' };
  }
  if (isPlaceholderDigest(digest)) {
    return { ok: false, reason: 'placeholder pin (a repeated byte pattern): put the real SPKI hash here (`wirelock pin <host>`)' };
  }
  return { ok: true, pin: text, digest };
}

/**
 * Documentation and templates use digests like "AAAA...=" or "////...8=". A real SHA-256 output that
 * repeats with a period of at most 4 bytes has probability below 2^-220: such a pin can only be a
 * placeholder left in by mistake.
 */
export function isPlaceholderDigest(digest: Uint8Array): boolean {
  for (let period = 1; period <= 4; period++) {
    if (digest.every((byte, index) => index < period || byte === digest[index - period])) return true;
  }
  return false;
}
