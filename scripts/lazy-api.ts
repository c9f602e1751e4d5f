/**
 * An API whose every method is async (the Batch, SSM and doctor clients), made on its first call: the
 * commands build their clients up front, but the SDK behind one loads only if a call is made, so a
 * local sweep or `results` on a local directory never loads it.
 */
export function lazyApi<T extends object>(load: () => Promise<T>): T {
  let loaded: Promise<T> | undefined;
  return new Proxy({} as T, {
    get: (_target, name) => async (...args: unknown[]) => {
      const api = (await (loaded ??= load())) as Record<PropertyKey, (...args: unknown[]) => Promise<unknown>>;
      return api[name]!(...args);
    },
  });
}
