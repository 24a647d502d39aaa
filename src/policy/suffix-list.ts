// The Public Suffix List's rules (one space-separated string), for the lookups in match.ts and the
// TrustKit generator. Run from source (tests, through tsx) this is the generated module. The build
// replaces this module (scripts/bundle.mjs): there the rules are a text file read at the first
// lookup, so the 135 KB string is not compiled at every start of an app whose policy never asks
// (no domain with includeSubdomains).
import { PUBLIC_SUFFIX_RULES } from './public-suffixes.js';

/** The rules; throws when they cannot be read (a lookup never answers without them). */
export function publicSuffixRules(): string {
  return PUBLIC_SUFFIX_RULES;
}
