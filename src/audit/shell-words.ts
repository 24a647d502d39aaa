/**
 * A shell reads c''url, c"u"rl, c\url and curl${IFS}-s as curl -s: quotes and backslashes inside a
 * word and $IFS only split or join words. Matching tool names on the raw text misses those
 * spellings, so rules test both the raw text (Windows paths keep their backslashes) and this one.
 */
export function shellWords(text: string): string {
  return text.replace(/\$\{IFS\}|\$IFS\b/g, ' ').replace(/\\(.)/g, '$1').replace(/['"]/g, '');
}

/** The rule matches the command as written or as the shell will read it. */
export function matchesShell(re: RegExp, text: string): boolean {
  return re.test(text) || re.test(shellWords(text));
}
