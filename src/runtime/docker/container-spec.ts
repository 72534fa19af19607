// Pure builders of the options Berth creates containers with. No daemon here: tests compare the output by
// deep equality. App and job containers never get binds, devices, privileges or the Docker socket; they
// get the instance size's memory and CPU limits and `no-new-privileges`.
import type Dockerode from "dockerode";
import type { ResourceLimits, RouteRule, HealthCheck, Termination } from "../runtime.js";
import { LABEL, type ContainerRole } from "./labels.js";

export type NetworkMode = "host" | "bridge";

/** What a restarted Berth needs to re-register or restart an instance; stored as a JSON label. */
export interface RolloutRecord {
  appName: string;
  kind: "service" | "worker" | "static_site";
  instanceCount: number;
  httpPort?: number;
  healthCheck?: HealthCheck;
  termination: Termination;
  routes: RouteRule[];
  domains: string[];
  runCommand?: string;
  limits: ResourceLimits;
}

export interface ContainerInput {
  role: ContainerRole;
  name: string;
  appId: string;
  component: string;
  deploymentId: string;
  image: string;
  runCommand?: string;
  env: Record<string, string>;
  limits: ResourceLimits;
  network: NetworkMode;
  /** Bridge mode: the app's user-defined network, where the component's name resolves. */
  bridgeNetwork?: string;
  /** Port the process is told to listen on (`PORT`): a free host port in host mode, `http_port` in bridge mode. */
  port?: number;
  rollout?: RolloutRecord;
  labels?: Record<string, string>;
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
}

export function bridgeNetworkName(appId: string): string {
  return `berth-${appId.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-")}`;
}

export function containerSpecFor(c: ContainerInput): Dockerode.ContainerCreateOptions {
  const env = c.port !== undefined ? { ...c.env, PORT: String(c.port) } : c.env;
  const labels: Record<string, string> = {
    ...c.labels,
    [LABEL.managed]: "true",
    [LABEL.app]: c.appId,
    [LABEL.component]: c.component,
    [LABEL.deployment]: c.deploymentId,
    [LABEL.role]: c.role,
  };
  if (c.port !== undefined) labels[LABEL.port] = String(c.port);
  if (c.rollout) {
    labels[LABEL.appName] = c.rollout.appName;
    labels[LABEL.kind] = c.rollout.kind;
    labels[LABEL.rollout] = JSON.stringify(c.rollout);
  }
  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: c.network === "host" ? "host" : c.bridgeNetwork,
    Memory: c.limits.memory,
    MemorySwap: c.limits.memory,
    NanoCpus: Math.round(c.limits.cpus * 1e9),
    PidsLimit: 4096,
    Privileged: false,
    SecurityOpt: ["no-new-privileges:true"],
    Binds: [],
    Mounts: [],
    Devices: [],
    RestartPolicy: c.role === "instance" ? { Name: "unless-stopped", MaximumRetryCount: 0 } : { Name: "no", MaximumRetryCount: 0 },
    LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
    Init: true,
  };
  const spec: Dockerode.ContainerCreateOptions = {
    name: c.name,
    Image: c.image,
    Env: envList(env),
    Labels: labels,
    HostConfig: hostConfig,
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    StopSignal: "SIGTERM",
  };
  if (c.runCommand) spec.Cmd = ["/bin/sh", "-c", c.runCommand];
  if (c.network === "bridge" && c.port !== undefined) {
    const key = `${c.port}/tcp`;
    spec.ExposedPorts = { [key]: {} };
    hostConfig.PortBindings = { [key]: [{ HostIp: "127.0.0.1", HostPort: "" }] };
  }
  if (c.network === "bridge" && c.bridgeNetwork) {
    spec.NetworkingConfig = { EndpointsConfig: { [c.bridgeNetwork]: { Aliases: [c.component] } } };
  }
  return spec;
}
