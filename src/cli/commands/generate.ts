import { basename, resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { ANDROID_XML_PATH, type AndroidOptions } from '../../mobile/android.js';
import { checkDrift } from '../../mobile/drift.js';
import { checkIos } from '../../mobile/equivalence.js';
import { readText, write, writeAndroidResources } from '../../mobile/files.js';
import { mergeAtsIntoInfoPlist } from '../../mobile/ios.js';
import { generateTarget, TARGETS } from '../../mobile/generate.js';
import type { MobileTarget } from '../../mobile/model.js';
import { TRUSTKIT_JSON_PATH, TRUSTKIT_PLIST_PATH } from '../../mobile/trustkit.js';
import { EXIT, parseCommandArgs, type Command } from '../command.js';
import { palette, writeJson } from '../output.js';
import { resolvePolicy } from '../policy-file.js';

const usage = `usage: wirelock generate android  [--policy <file>] [-o res/xml/network_security_config.xml] [--debug-ca <pem|user>]...
       wirelock generate ios      [--policy <file>] [-o <file> | --merge <Info.plist>]
       wirelock generate trustkit [--policy <file>] [--format json|plist] [-o <file>]
   common options: [--strict] [--accept <rule>]... [--json]
       wirelock generate <target> [--policy <file>] --check <existing file> [--json]

Writes the platform's configuration for the policy (to -o, else stdout). android: the Network
Security Config, plus the policy's private CAs as PEM files in the res/raw/ next to res/xml/ (needs
-o); --debug-ca adds <debug-overrides> trust (debuggable builds only; overridePins="false", so pins
still apply). ios: an Info.plist with the NSAppTransportSecurity dictionary (--merge puts it into an
existing Info.plist, leaving the rest of the file untouched, and removes the key's device-specific
variants such as NSAppTransportSecurity~iphone). trustkit: the react-native-ssl-public-key-pinning JSON (default)
or the native TrustKit TSKConfiguration plist.

Where a platform cannot express a policy rule a warning names the rule (e.g. ios/pins-expire) and
the policy location; --strict fails on any warning not listed with --accept. Every output is
checked against the policy on a host matrix before it is written.

--check compares an existing file (e.g. a hand-edited network_security_config.xml, the app's
Info.plist, the pinning JSON) with the policy on the same host matrix plus every name the file holds
(in every key variant the platform reads) and reports drift: any entry weaker than the policy.
Exit 0 written / in sync, 1 --strict found unaccepted warnings or --check found drift, 2 usage or
policy error.`;

export const command: Command = {
  name: 'generate',
  summary: 'Android, iOS and TrustKit configuration from the policy',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      policy: { type: 'string' },
      output: { type: 'string', short: 'o' },
      check: { type: 'string' },
      merge: { type: 'string' },
      format: { type: 'string' },
      'debug-ca': { type: 'string', multiple: true },
      strict: { type: 'boolean', default: false },
      accept: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    });
    const [target, ...extra] = positionals;
    if (!target || !TARGETS.includes(target as MobileTarget)) {
      throw new WirelockError('ERR_USAGE', target ? `unknown target "${target}": expected ${TARGETS.join(', ')}` : `expected a target: ${TARGETS.join(', ')}`);
    }
    if (extra.length > 0) throw new WirelockError('ERR_USAGE', `unexpected argument "${extra[0]}"`);
    if (values['debug-ca'] && target !== 'android') throw new WirelockError('ERR_USAGE', '--debug-ca applies to android only');
    const format = values.format ?? 'json';
    if (values.format !== undefined && target !== 'trustkit') throw new WirelockError('ERR_USAGE', '--format applies to trustkit only');
    if (format !== 'json' && format !== 'plist') throw new WirelockError('ERR_USAGE', `--format must be json or plist, not "${format}"`);
    const policy = await resolvePolicy(values.policy, io, false);
    if (!policy) throw new WirelockError('ERR_USAGE', 'no policy: give --policy <file> (or set WIRELOCK_POLICY, or run where wirelock.json is)');

    const android: AndroidOptions = { source: policy.source ? basename(policy.source) : undefined };
    if (values['debug-ca']) {
      android.debugOverrides = values['debug-ca'].map((entry) => (entry === 'user' ? 'user' : { name: entry, pem: readText(resolve(io.cwd, entry)) }));
    }
    const accept = values.accept ?? [];
    const c = palette(io, 'stderr');
    if (values.merge && (target !== 'ios' || values.output || values.check)) throw new WirelockError('ERR_USAGE', '--merge applies to ios only, without -o or --check');
    if (values.check) {
      if (values.output) throw new WirelockError('ERR_USAGE', 'give either -o or --check');
      const drift = checkDrift(target as MobileTarget, policy, resolve(io.cwd, values.check), { android, accept, ...(values.format ? { format: format as 'json' | 'plist' } : {}) });
      const unexplained = drift.reports.flatMap((r) => r.unexplained.map((d) => ({ evaluator: r.evaluator, ...d })));
      if (values.json) {
        writeJson(io, { target, file: drift.file, drifted: drift.drifted, formatProblems: drift.formatProblems, drift: unexplained, announced: drift.reports.reduce((n, r) => n + r.differences.length - r.unexplained.length, 0) });
      } else {
        const out = palette(io);
        for (const problem of drift.formatProblems) io.stdout.write(`${out.red('invalid')} ${drift.file} ${problem}\n`);
        for (const d of unexplained) io.stdout.write(`${out.red('drift  ')} ${d.evaluator} ${d.host} ${d.aspect}: policy ${JSON.stringify(d.expected)}, file ${JSON.stringify(d.actual)}\n`);
        io.stdout.write(drift.drifted ? `${drift.file} differs from the policy\n` : `${drift.file} is in sync with the policy\n`);
      }
      return drift.drifted ? EXIT.FINDINGS : EXIT.OK;
    }
    let generation;
    try {
      generation = generateTarget(target as MobileTarget, policy, { android, strict: values.strict, accept });
    } catch (error) {
      if (error instanceof WirelockError && error.code === 'ERR_GENERATE_UNSUPPORTED' && error.details.warnings) {
        if (values.json) writeJson(io, { ok: false, code: error.code, target, warnings: error.details.warnings });
        io.stderr.write(`${c.red('error')} ${error.code}: ${error.message}\n`);
        return EXIT.FINDINGS;
      }
      throw error;
    }
    const { result, open } = generation;

    // Which generated file is the output: the XML, the plist, or the chosen TrustKit flavour.
    const primaryPath = target === 'trustkit' ? (format === 'plist' ? TRUSTKIT_PLIST_PATH : TRUSTKIT_JSON_PATH) : result.files[0]!.path;
    const primary = result.files.find((file) => file.path === primaryPath)!;
    const extras = target === 'android' ? result.files.filter((file) => file.path !== ANDROID_XML_PATH) : [];
    let written: string[] = [];
    let removed: string[] = [];
    if (values.merge) {
      const infoPlist = resolve(io.cwd, values.merge);
      const merged = mergeAtsIntoInfoPlist(readText(infoPlist), primary.contents, infoPlist);
      // The merged file is checked like the generated one (every device's reading) before it replaces the original.
      const check = checkIos(policy, { ...result, files: [{ ...primary, contents: merged.text }] });
      if (check.unexplained.length > 0) throw new WirelockError('ERR_GENERATE_UNSUPPORTED', `merging into ${infoPlist} changed the ATS rules (a wirelock bug); nothing was written`, { file: infoPlist });
      write(infoPlist, merged.text);
      written = [infoPlist];
      removed = merged.removed;
    } else if (values.output) {
      const out = resolve(io.cwd, values.output);
      written = target === 'android' ? writeAndroidResources(result, out) : (write(out, primary.contents), [out]);
    } else if (extras.length > 0) {
      throw new WirelockError('ERR_USAGE', `the policy names private CAs: give -o <res>/xml/network_security_config.xml so ${extras.map((f) => f.path).join(', ')} can be written to <res>/raw/`);
    }

    if (values.json) {
      writeJson(io, {
        ok: true,
        target,
        written,
        ...(values.merge ? { removed } : {}),
        files: (target === 'android' ? result.files : [primary]).map((file) => ({ path: file.path, role: file.role, contents: file.contents })),
        warnings: result.warnings.map((w) => ({ ...w, accepted: !open.includes(w) })),
        // Every difference between the platform and wirelock on the host matrix, each with the warning that announces it.
        equivalence: generation.equivalence.map((r) => ({
          evaluator: r.evaluator,
          hosts: r.hosts.length,
          differences: r.differences.length,
          announced: r.differences.length - r.unexplained.length,
          details: r.differences,
        })),
      });
    } else if (!values.output && !values.merge) {
      io.stdout.write(primary.contents);
    }
    for (const warning of result.warnings) {
      const accepted = !open.includes(warning);
      io.stderr.write(`${accepted ? c.dim('accepted') : c.yellow('warning ')} ${warning.rule}  ${policy.source ?? '<policy>'}#${warning.pointer}  ${warning.message}\n`);
    }
    for (const key of removed) io.stderr.write(`${c.yellow('removed ')} ${key} from ${written[0]}: a device-specific variant iOS would read instead of NSAppTransportSecurity\n`);
    if (written.length > 0 && !values.json) for (const path of written) io.stderr.write(`${c.green('wrote')} ${path}\n`);
    return EXIT.OK;
  },
};
