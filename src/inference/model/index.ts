export { resolveModel } from "./resolve.js";
export type { ModelFiles, ModelSourceOptions, ModelVariant } from "./types.js";
