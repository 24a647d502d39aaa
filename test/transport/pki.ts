import { issueCertificate, generateKeys, issueChain, type IssuedCertificate } from '../../src/x509/issue.js';
import { certificatePin } from '../../src/x509/certificate.js';

/** Per-run PKI for transport tests: a legitimate CA, a rogue CA, and a second trusted CA ("compromised"). */
export interface TestPki {
  legit: ReturnType<typeof issueChain>;
  rogue: ReturnType<typeof issueChain>;
  compromised: ReturnType<typeof issueChain>;
  backupPin: string;
  serverOptions(chain: { leaf: IssuedCertificate; intermediate: IssuedCertificate }, ...extra: IssuedCertificate[]): { cert: string; key: string };
}

export function createTestPki(hostnames = ['127.0.0.1', 'localhost', 'a.wirelock.test', 'b.wirelock.test']): TestPki {
  return {
    legit: issueChain({ hostnames, rootName: 'Legit Root CA' }),
    rogue: issueChain({ hostnames, rootName: 'Rogue Root CA' }),
    compromised: issueChain({ hostnames, rootName: 'Compromised Public CA' }),
    backupPin: certificatePin(issueCertificate({ subject: { commonName: 'offline backup' }, keys: generateKeys() }).der),
    serverOptions(chain, ...extra) {
      return { cert: [chain.leaf.pem, chain.intermediate.pem, ...extra.map((c) => c.pem)].join(''), key: chain.leaf.keyPem };
    },
  };
}
