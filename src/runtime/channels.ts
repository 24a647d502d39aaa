import { real } from './builtins.js';

/** diagnostics_channel names, stable: SIEM forwarders and tests subscribe to them. */
export const CHANNELS_RUNTIME = Object.freeze({
  /** Every new runtime finding of an active lockdown (a RuntimeFinding). */
  tamper: real.diagnosticsChannel.channel('wirelock:tamper'),
} as const);
