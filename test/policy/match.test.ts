import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findDomainPolicy, isLoopbackHost, isPublicSuffix, normalizeHost } from '../../src/policy/match.js';
import { definePolicy } from '../../src/policy/define.js';
import { PUBLIC_SUFFIX_RULES } from '../../src/policy/public-suffixes.js';

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

// isPublicSuffix searches the list string instead of building sets of its rules (start-up cost): it
// must answer exactly as the sets did, for every rule, names under each rule, and odd input.
function suffixCases(): { names: string[]; bySets: (name: string) => boolean } {
  const exact = new Set<string>();
  const wildcard = new Set<string>();
  const exception = new Set<string>();
  for (const rule of PUBLIC_SUFFIX_RULES.split(' ')) {
    if (rule.startsWith('!')) exception.add(rule.slice(1));
    else if (rule.startsWith('*.')) wildcard.add(rule.slice(2));
    else exact.add(rule);
  }
  const bySets = (name: string): boolean => {
    if (/^[0-9.]+$/.test(name) && name.split('.').length === 4) return false;
    if (exception.has(name)) return false;
    if (exact.has(name)) return true;
    const dot = name.indexOf('.');
    if (dot > 0 && wildcard.has(name.slice(dot + 1))) return true;
    return !name.includes('.');
  };
  const names = new Set<string>(['', ' ', 'com net', 'co.uk com', 'uk ', ' uk', 'ck', 'x.ck', 'www.ck', 'a.www.ck', 'example.com', 'city.kawasaki.jp', 'x.kawasaki.jp', 'a.b.kawasaki.jp']);
  for (const rule of PUBLIC_SUFFIX_RULES.split(' ')) {
    const bare = rule.replace(/^!|^\*\./, '');
    for (const name of [rule, bare, `x.${bare}`, `x.y.${bare}`, bare.slice(1), `${bare}x`]) names.add(name);
  }
  return { names: [...names], bySets };
}

test('public suffixes: the lookups answer as sets of the rules would, for every rule', () => {
  const { names, bySets } = suffixCases();
  for (const name of names) assert.equal(isPublicSuffix(name), bySets(name), JSON.stringify(name));
});

// The first lookups of a process search the list string; later ones use a set (match.ts). Fresh
// module instances (a query on the URL) run the string search over a sample of every kind of case.
test('public suffixes: the first lookups of a process (string search) answer as the sets would', async () => {
  const { names, bySets } = suffixCases();
  const sample = names.filter((_, index) => index < 40 || index % 97 === 0);
  for (let start = 0; start < sample.length; start += 5) {
    const fresh = (await import(`../../src/policy/match.js?fresh=${start}`)) as typeof import('../../src/policy/match.js');
    for (const name of sample.slice(start, start + 5)) assert.equal(fresh.isPublicSuffix(name), bySets(name), JSON.stringify(name));
  }
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
