// x509-limbo (C2SP) as a suite for wirelock's path builder: each SERVER testcase is run the way a
// handshake runs it here, i.e. the verified path from buildVerifiedChains plus the host name check Node
// applies (tls.checkServerIdentity). See test/vectors/x509-limbo/SOURCES.md for the snapshot.
import { readFileSync } from 'node:fs';
import { checkServerIdentity } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { pemBlocks } from '../../src/x509/certificate.js';
import { buildAnchorSet, buildVerifiedChains, toChainCertificate, type ChainResult } from '../../src/x509/chain.js';

export interface LimboCase {
  id: string;
  features: string[] | null;
  description: string;
  validation_kind: 'SERVER' | 'CLIENT';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  expected_result: 'SUCCESS' | 'FAILURE';
  expected_peer_name: { kind: 'DNS' | 'IP' | 'RFC822'; value: string } | null;
  max_chain_depth: number | null;
  extended_key_usage: string[] | null;
  key_usage: string[] | null;
}

export const LIMBO_FILE = new URL('../vectors/x509-limbo/limbo-2023-12-02-ddc40b47.json', import.meta.url);

export function limboCases(): LimboCase[] {
  return (JSON.parse(readFileSync(LIMBO_FILE, 'utf8')) as { testcases: LimboCase[] }).testcases;
}

export interface LimboOutcome {
  id: string;
  expected: 'SUCCESS' | 'FAILURE';
  actual: 'SUCCESS' | 'FAILURE';
  reason: string;
}

const der = (pem: string): Uint8Array => pemBlocks(pem)[0]!;

export function runLimboCase(testcase: LimboCase): LimboOutcome {
  const outcome = (actual: 'SUCCESS' | 'FAILURE', reason: string): LimboOutcome => ({ id: testcase.id, expected: testcase.expected_result, actual, reason });
  let chain: ChainResult;
  try {
    const served = [testcase.peer_certificate, ...testcase.untrusted_intermediates].map((pem) => toChainCertificate(der(pem)));
    const anchors = buildAnchorSet(testcase.trusted_certs.map(der));
    const at = testcase.validation_time ? new Date(testcase.validation_time) : new Date();
    chain = buildVerifiedChains(served, anchors, at);
  } catch (error) {
    return outcome('FAILURE', `refused to parse: ${(error as Error).message}`);
  }
  if (!chain.ok) return outcome('FAILURE', chain.detail);
  const name = testcase.expected_peer_name;
  if (name) {
    const leaf = new X509Certificate(der(testcase.peer_certificate));
    const hostnameError = checkServerIdentity(name.value, leaf.toLegacyObject());
    if (hostnameError) return outcome('FAILURE', `host name: ${hostnameError.message}`);
  }
  return outcome('SUCCESS', `path of ${chain.path.length}`);
}

/**
 * FAILURE cases that OpenSSL, the validator of every Node TLS handshake, accepts too (limbo.system.ts
 * proves it case by case): WebPKI-profile and pedantic RFC 5280 rules that no Node client enforces.
 * Pins are matched on these paths exactly as the handshake accepts them.
 */
export const ACCEPTED_LIKE_OPENSSL = new Set([
  'pathlen::max-chain-depth-0-exhausted', // a validator setting (limbo's max_chain_depth), not a certificate property
  'pathlen::max-chain-depth-1-exhausted',
  'rfc5280::aki::leaf-missing-aki',
  'rfc5280::aki::intermediate-missing-aki',
  'rfc5280::nc::permitted-dns-match-noncritical',
  'rfc5280::nc::not-allowed-in-ee-noncritical',
  'rfc5280::nc::not-allowed-in-ee-critical',
  'rfc5280::serial::too-long',
  'rfc5280::serial::zero',
  'rfc5280::ski::root-missing-ski',
  'rfc5280::ski::intermediate-missing-ski',
  'rfc5280::root-missing-basic-constraints',
  'rfc5280::root-non-critical-basic-constraints',
  'rfc5280::leaf-ku-keycertsign',
  'webpki::aki::root-with-aki-missing-keyidentifier',
  'webpki::eku::ee-anyeku',
  'webpki::eku::ee-critical-eku',
  'webpki::eku::ee-without-eku',
  'webpki::eku::root-has-eku',
  'webpki::nc::intermediate-permitted-excluded-subtrees-both-null',
  'webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences',
  'webpki::san::wildcard-embedded-leftmost-san',
  'webpki::san::no-san',
  'webpki::san::san-critical-with-nonempty-subject',
  'webpki::malformed-aia',
  'webpki::forbidden-p192-spki-leaf',
  'webpki::forbidden-dsa-spki-leaf',
  'webpki::forbidden-signature-algorithm-in-root',
  'webpki::forbidden-signature-algorithm-in-leaf',
  'webpki::v1-cert',
  'webpki::ee-basicconstraints-ca',
]);

/** SUCCESS cases the builder refuses on purpose, with the reason it gives. */
export const REFUSED_ON_PURPOSE = new Map<string, RegExp>([
  // Name constraints on directory names are not implemented: refused, never ignored.
  ['rfc5280::nc::permitted-dn-match', /directoryName are not supported/],
  // A CA certificate used as the server certificate: its key usage (keyCertSign only) does not allow a
  // TLS server, and OpenSSL refuses it for the same reason.
  ['pathlen::validation-ignores-pathlen-in-leaf', /key usage does not allow a TLS server/],
]);
