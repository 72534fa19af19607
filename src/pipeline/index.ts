// The pipeline room's front door: what the composition root and intake use.
export { createPipeline, type Pipeline, type PipelineOptions } from "./pipeline.js";
export type { BindContextHook } from "./deploy-context.js";
export { startRetentionLoop } from "./retention.js";
export { sealStoredSpecs } from "./secret-values.js";
export { IntentError } from "../core/errors.js";
export { isFinal } from "../core/phases.js";
export type * from "../core/types.js";
