// The Docker runtime's public surface for the composition root.
export { createDockerRuntime, type DockerRuntime } from "./docker-runtime.js";
export { type DatabaseBinding } from "./databases.js";
export { readDatabasesConfig, type DatabasesConfig } from "./databases-config.js";
export { LABEL } from "./labels.js";
