// The Docker runtime's public surface for the composition root.
export { createDockerRuntime, type DockerRuntime } from "./docker-runtime.js";
export { readDatabasesConfig, type DatabaseBinding } from "./databases.js";
export { LABEL } from "./labels.js";
