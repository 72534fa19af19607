// The Docker runtime's public surface for the composition root.
export { createDockerRuntime, type DockerRuntime, type DockerRuntimeOptions, type AdoptResult } from "./docker-runtime.js";
export {
  readDatabasesConfig,
  resolveDatabases,
  bindingFromUrl,
  type DatabaseBinding,
  type DatabaseComponent,
  type ResolvedDatabases,
} from "./databases.js";
export { DEFAULT_BASE_IMAGES, type BaseImages } from "./dockerfile.js";
export { LABEL } from "./labels.js";
