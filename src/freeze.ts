/**
 * Freezes an object graph: what wirelock exports and what its engines read must not be changeable by
 * code that runs later (every module path is importable, and a policy is handed out). Typed arrays
 * and Dates cannot be frozen by Object.freeze: whoever relies on their contents copies them aside.
 */
export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  // No shortcut on an already frozen object: a frozen object can still hold writable ones.
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  return Object.freeze(value);
}
