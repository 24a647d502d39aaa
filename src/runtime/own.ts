/**
 * Values wirelock itself put into watched slots (lockdown's guards, its dispatcher), so that an
 * inspection run while lockdown is active does not report wirelock as a hook.
 */
export const wirelockValues = new WeakSet<object>();

export function isWirelockValue(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && wirelockValues.has(value);
}
