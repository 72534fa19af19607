// The app spec engine: pure (no file system, no network). Text in; a typed, defaulted spec or problems out.
export { parseAppSpec } from "./parse-app-spec.js";
export type { Problem, SpecResult } from "./parse-app-spec.js";
export { MAX_SPEC_BYTES, oversizedFile } from "./spec-size.js";
export { formatProblem } from "./format-problem.js";
export { isDeployTemplate } from "./is-deploy-template.js";
export { isAppPlatformEncrypted } from "./constants.js";
export { resolveComponentEnv, findBindables } from "./bindables.js";
export type { BindContext, DatabaseBindings } from "./bindables.js";
export { instanceSize, INSTANCE_SIZES, LEGACY_INSTANCE_SIZES } from "./instance-sizes.js";
export type {
  AppSpec,
  ServiceSpec,
  WorkerSpec,
  JobSpec,
  StaticSiteSpec,
} from "./schema.js";
