/**
 * Freezes an object graph: what wirelock exports and what its engines read must not be changeable by
 * code that runs later (every module path is importable, and a policy is handed out). Typed arrays
 * and Dates cannot be frozen by Object.freeze: whoever relies on their contents copies them aside.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return Object.freeze(value);
}
