// Reverse DNS through a resolver pointed at a name server the policy does not list: the PTR name
// carries 16 bytes of the caller's choosing (an IPv6 address) to that server. Lockdown refuses every
// method of the resolver channel that sends a query while its servers are unlisted, as it does for
// names. Real loopback name servers (the attacker's on 127.0.0.2, unlisted; one on 127.0.0.1, listed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attack, labForThisFile, nameServer, runApp } from './support.js';

const lab = labForThisFile();

/** The methods of c-ares' channel (ChannelWrap) that do not send a query; every other one does. */
const NOT_SENDING = ['constructor', 'cancel', 'getServers', 'setServers', 'setLocalAddress'];

/** Every public way to a reverse lookup through a server of the caller's choosing. */
const PATHS = ['Resolver#reverse', 'promises.Resolver#reverse', 'dns.setServers, dns.reverse', 'dns.promises.setServers, dns.promises.reverse'];

/** The PTR name of an IPv6 address, as c-ares writes it: nibbles in reverse order under ip6.arpa. */
function ptrLabels(address: string): string {
  const hex = address.split(':').map((group) => group.padStart(4, '0')).join('');
  return [...hex].reverse().join('.');
}

describe('reverse DNS under lockdown', { concurrency: false }, () => {
  test('the resolver channel methods that send a query on this Node are getHostByAddr and query* (Node 24: queryTlsa too)', () => {
    const binding = (process as unknown as { binding: (name: string) => { ChannelWrap: { prototype: object } } }).binding('cares_wrap');
    const methods = Object.getOwnPropertyNames(binding.ChannelWrap.prototype);
    const sending = methods.filter((key) => !NOT_SENDING.includes(key)).sort();
    assert.ok(sending.every((key) => key === 'getHostByAddr' || key.startsWith('query')), `unclassified ChannelWrap methods: ${sending.join(', ')}`);
    const expected = ['getHostByAddr', 'queryA', 'queryAaaa', 'queryAny', 'queryCaa', 'queryCname', 'queryMx', 'queryNaptr', 'queryNs', 'queryPtr', 'querySoa', 'querySrv', 'queryTxt'];
    if (Number(process.versions.node.split('.')[0]) >= 24) expected.push('queryTlsa');
    assert.deepEqual(sending, expected.sort());
  });

  test('reverse() through an unlisted name server (Resolver, promises.Resolver, dns.reverse, dns.promises.reverse): refused, 0 queries; a listed server still answers; every sending channel method is guarded; positive control', async () => {
    const attacker = await nameServer('127.0.0.2');
    const listed = await nameServer('127.0.0.1');
    const env = { ...lab.env({ DEPENDENCY: attack('dns-reverse.mjs'), DNS_SERVER: attacker.address, LISTED_DNS_SERVER: listed.address }) };
    try {
      for (const path of PATHS) {
        const blocked = await runApp({ env: { ...env, LOCKDOWN: 'block', REVERSE_PATH: path } });
        assert.deepEqual(blocked.dependency.outcomes, { 'listed server: Resolver#reverse': 'ENOTFOUND', [path]: 'ERR_HOST_NOT_ALLOWED' }, path);
        // The same finding as a query on a resolver whose servers are unlisted (a high finding: it blocks).
        assert.equal(blocked.findings.find((f) => f.key === 'raw-binding:handle.getHostByAddr')?.severity, 'high', path);
        // Every method that sends is guarded (setServers too, where the servers are judged): only the rest stay native.
        assert.deepEqual((blocked.dependency.native as string[]).sort(), NOT_SENDING.filter((key) => key !== 'setServers').sort());
      }
      assert.equal(attacker.queries.length, 0);
      assert.equal(listed.queries.length, PATHS.length);
      // Positive control: unprotected, the attacker's name server receives the 16 bytes in the PTR name.
      const control = await runApp({ env: { ...env, NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
      assert.deepEqual(control.dependency.outcomes, Object.fromEntries(['listed server: Resolver#reverse', ...PATHS].map((path) => [path, 'ENOTFOUND'])));
      const labels = ptrLabels(String(control.dependency.address));
      assert.equal(attacker.queries.filter((query) => query.toString('latin1').replace(/[\x00-\x1f]/g, '.').includes(labels)).length, 4);
    } finally {
      attacker.socket.close();
      listed.socket.close();
    }
  });
});
