/**
 * Replaces `target[name]` by `make(original)` when it is a function. The replacement must
 * call the original with the same `this` and arguments and return what it returns: the
 * page must not see a difference. The beacon's own hook inside runs through `guarded`.
 */
export function wrap<T extends object>(target: T, name: keyof T, make: (original: Function) => Function): void {
  const original = target[name];
  if (typeof original === 'function') target[name] = make(original) as T[keyof T];
}
