// What the Docker runtime's rooms share: the engine, the router, the mode, and the runtime's own state.
import type Dockerode from "dockerode";
import type { RouterControl } from "../../router/router-contract.js";
import type { NetworkMode } from "./container-spec.js";
import type { Logger } from "./logger.js";
import type { MetadataSink } from "./metadata-sink.js";
import type { AppNetworks } from "./networks.js";
import type { PrivatePorts } from "./private-ports.js";
import type { RoutingTable } from "./routing.js";

export interface DockerContext {
  docker: Dockerode;
  router: RouterControl;
  network: NetworkMode;
  /** Extra labels on every container and image. */
  labels?: Record<string, string>;
  /** Label filters selecting only this runtime's containers (the extra labels). */
  own: string[];
  log: Logger;
  sitesDir: string;
  fastProbeMs: number;
  workerStableSeconds: number;
  privatePorts: PrivatePorts;
  routing: RoutingTable;
  networks: AppNetworks;
  /** Isolated mode: keeps app containers and builds from the cloud metadata address. */
  sink: MetadataSink;
  /** The secrets each `${appId}\0${component}` was last rolled out with, for restarts. */
  secretsByComponent: Map<string, string[]>;
}

export function componentKey(appId: string, component: string): string {
  return `${appId}\u0000${component}`;
}
