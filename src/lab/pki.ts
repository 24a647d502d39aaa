import { isIP } from 'node:net';
import { certificatePin } from '../x509/certificate.js';
import { generateKeys, issueCertificate, issueChain, type IssuedCertificate } from '../x509/issue.js';

export type IssuedChain = ReturnType<typeof issueChain>;

/**
 * A fresh PKI per run, so nothing the lab trusts outlives it: the legitimate deployment's CA, a rogue CA
 * (what a "VPN" app talks the user into installing), and a second CA the trust store accepts, standing
 * for a publicly trusted CA that mis-issued ("compromised").
 */
export interface LabPki {
  legit: IssuedChain;
  rogue: IssuedChain;
  compromised: IssuedChain;
  /** A pin for a key kept offline, so the policy satisfies the backup-pin rule. */
  backupPin: string;
  /** The pin the legitimate policy ships: the legitimate intermediate's key. */
  legitPin: string;
  serverOptions(chain: { leaf: IssuedCertificate; intermediate: IssuedCertificate }, ...extra: IssuedCertificate[]): { cert: string; key: string };
}

export const LAB_HOSTNAMES = ['127.0.0.1', 'localhost', 'a.wirelock.test', 'b.wirelock.test'];
/** The lab policy pins this name (and 127.0.0.1); the other names are unpinned. */
export const PINNED_NAME = 'a.wirelock.test';
/** A name the lab policy does not pin, that every lab CA has issued a certificate for. */
export const UNPINNED_NAME = 'b.wirelock.test';

export function createLabPki(hostnames = LAB_HOSTNAMES): LabPki {
  const legit = issueChain({ hostnames, rootName: 'Legit Root CA' });
  return {
    legit,
    rogue: issueChain({ hostnames, rootName: 'Rogue Root CA' }),
    compromised: issueChain({ hostnames, rootName: 'Compromised Public CA' }),
    backupPin: certificatePin(issueCertificate({ subject: { commonName: 'offline backup' }, keys: generateKeys() }).der),
    legitPin: certificatePin(legit.intermediate.der),
    serverOptions(chain, ...extra) {
      return { cert: [chain.leaf.pem, chain.intermediate.pem, ...extra.map((c) => c.pem)].join(''), key: chain.leaf.keyPem };
    },
  };
}

/** A leaf from an existing intermediate, for attacks that need one odd certificate (expired, wrong host). */
export function issueLeaf(
  intermediate: IssuedCertificate,
  options: { hostnames: string[]; notBefore?: Date; notAfter?: Date },
): IssuedCertificate {
  const isIp = (host: string): boolean => isIP(host) !== 0;
  return issueCertificate({
    subject: { commonName: options.hostnames[0] ?? 'localhost' },
    keys: generateKeys(),
    issuer: intermediate,
    dnsNames: options.hostnames.filter((host) => !isIp(host)),
    ipAddresses: options.hostnames.filter(isIp),
    ...(options.notBefore ? { notBefore: options.notBefore } : {}),
    ...(options.notAfter ? { notAfter: options.notAfter } : {}),
  });
}
