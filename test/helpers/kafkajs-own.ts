/**
 * kafkajs's own modules, past the replacements src/kafka/kafkajs.ts puts in the module cache: for
 * tests and benches that compare ours with kafkajs's on the same input.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * kafkajs's own `module`, loaded afresh past our replacement in the module cache; each of `alsoOwn`
 * (modules it requires) is kafkajs's own too, for it only. The cache is left as it was.
 */
export function kafkajsOwn<T>(module: string, alsoOwn: readonly string[] = []): T {
  const paths = [module, ...alsoOwn].map((m) => require.resolve(m));
  const cached = paths.map((path) => require.cache[path]);
  for (const path of paths) delete require.cache[path];
  try {
    return require(module) as T;
  } finally {
    paths.forEach((path, i) => {
      const before = cached[i];
      if (before) require.cache[path] = before;
      else delete require.cache[path];
    });
  }
}
