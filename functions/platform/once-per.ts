/**
 * Values derived once per key object and kept for the isolate's life. A Worker isolate serves many
 * requests with the same bindings object (`env`), so what is parsed or built from them (the
 * configuration, clients, shared batchers) is made on the first request, not on every one. Keys
 * are held weakly: bindings a test builds for itself are not kept alive.
 *
 * @example
 * const loadConfig = oncePer((env: Env) => parseSettings(configSchema, env));
 */
export function oncePer<K extends object, V, Rest extends unknown[] = []>(
  create: (key: K, ...rest: Rest) => V,
): (key: K, ...rest: Rest) => V {
  const values = new WeakMap<K, V>();
  return (key, ...rest) => {
    if (values.has(key)) return values.get(key) as V;
    // A create that throws (a ConfigError) keeps nothing: the next call tries again.
    const value = create(key, ...rest);
    values.set(key, value);
    return value;
  };
}
