import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findDomainPolicy, isLoopbackHost, isPublicSuffix, normalizeHost } from '../../src/policy/match.js';
import { definePolicy } from '../../src/policy/define.js';

test('normalizeHost: case, IDNA, trailing dot, IPv6 brackets', () => {
  assert.equal(normalizeHost('API.Example.COM.'), 'api.example.com');
  assert.equal(normalizeHost('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeHost('[::1]'), '::1');
  assert.equal(normalizeHost('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(normalizeHost('127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeHost('exa mple.com'), undefined);
  assert.equal(normalizeHost(''), undefined);
  assert.equal(normalizeHost('a..b'), undefined);
});

test('public suffixes, including wildcard and exception rules', () => {
  assert.ok(isPublicSuffix('com'));
  assert.ok(isPublicSuffix('co.uk'));
  assert.ok(isPublicSuffix('github.io'));
  assert.ok(isPublicSuffix('anything.ck'));
  assert.equal(isPublicSuffix('www.ck'), false);
  assert.equal(isPublicSuffix('example.com'), false);
  assert.equal(isPublicSuffix('127.0.0.1'), false);
});

test('loopback hosts', () => {
  for (const host of ['localhost', 'a.localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['example.com', '10.0.0.1', 'localhost.example.com']) assert.equal(isLoopbackHost(host), false, host);
});

test('longest match wins and includeSubdomains covers every depth', () => {
  const policy = definePolicy({
    version: 1,
    domains: {
      'example.com': { includeSubdomains: true },
      'api.example.com': {},
      'deep.api.example.com': { includeSubdomains: true },
      'bücher.example': {},
      '::1': {},
    },
  });
  const match = (host: string) => findDomainPolicy(policy, host)?.name;
  assert.equal(match('example.com'), 'example.com');
  assert.equal(match('api.example.com'), 'api.example.com');
  assert.equal(match('x.api.example.com'), 'example.com');
  assert.equal(match('a.b.c.example.com'), 'example.com');
  assert.equal(match('z.deep.api.example.com'), 'deep.api.example.com');
  assert.equal(match('EXAMPLE.COM.'), 'example.com');
  assert.equal(match('notexample.com'), undefined);
  assert.equal(match('BÜCHER.example'), 'xn--bcher-kva.example');
  assert.equal(match('www.bücher.example'), undefined);
  assert.equal(match('[::1]'), '::1');
});

test('an IPv6 literal with a zone id is not a policy host, and never a raw TypeError', async () => {
  for (const host of ['fe80::1%eth0', '[fe80::1%25eth0]']) assert.equal(normalizeHost(host), undefined, host);
  const { WirelockError } = await import('../../src/errors.js');
  assert.throws(() => definePolicy({ version: 1, domains: { 'fe80::1%eth0': {} } }), (error: unknown) => {
    assert.ok(error instanceof WirelockError);
    assert.equal(error.code, 'ERR_POLICY_INVALID');
    assert.equal((error.details as { pointer: string }).pointer, '/domains/fe80::1%eth0');
    return true;
  });
  // Positive control: the same address without a zone is a valid policy host.
  assert.equal(normalizeHost('fe80::1'), 'fe80::1');
  const policy = definePolicy({ version: 1, unlistedHosts: 'block', domains: { 'fe80::1': {} } });
  assert.equal(findDomainPolicy(policy, 'fe80::1%eth0'), undefined);
  assert.equal(findDomainPolicy(policy, 'fe80::1')?.name, 'fe80::1');
});
