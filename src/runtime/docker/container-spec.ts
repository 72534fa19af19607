// Pure builders of the options Berth creates containers with. No daemon here: tests compare the output by
// deep equality. App and job containers never get binds, devices, privileges or the Docker socket; they
// get the instance size's memory and CPU limits, `no-new-privileges`, and only the capabilities in APP_CAPABILITIES.
import type Dockerode from "dockerode";
import type { ResourceLimits, RouteRule, HealthCheck, Termination } from "../runtime.js";
import { LABEL, type ContainerRole } from "./labels.js";

/** `isolated`: one Docker network per app, instances published on 127.0.0.1 only. `host`: the host's network. */
export type NetworkMode = "host" | "isolated";

/**
 * What an app's processes may keep of root's powers (everything else, NET_RAW and MKNOD first, is dropped):
 * CHOWN, FOWNER and DAC_OVERRIDE for entrypoints that prepare files as root for another user; SETUID and
 * SETGID to switch to that user (gosu, su-exec, nginx workers); KILL for a root init to signal it;
 * NET_BIND_SERVICE for `http_port` below 1024.
 */
export const APP_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"];

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
  /** Isolated mode: the app's network, where the component's name resolves. */
  appNetwork?: string;
  /** Port the process is told to listen on (`PORT`): a free host port in host mode, `http_port` in isolated mode. */
  port?: number;
  rollout?: RolloutRecord;
  labels?: Record<string, string>;
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
}

export function appNetworkName(appId: string): string {
  return `berth-${appId.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-")}`;
}

/** Builds of the app run on their own network: not the app's, so a build never reaches its running instances. */
export function buildNetworkName(appId: string): string {
  return `${appNetworkName(appId)}-build`;
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
    NetworkMode: c.network === "host" ? "host" : c.appNetwork,
    Memory: c.limits.memory,
    MemorySwap: c.limits.memory,
    NanoCpus: Math.round(c.limits.cpus * 1e9),
    PidsLimit: 4096,
    Privileged: false,
    CapDrop: ["ALL"],
    CapAdd: [...APP_CAPABILITIES],
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
  if (c.network === "isolated" && c.port !== undefined) {
    const key = `${c.port}/tcp`;
    spec.ExposedPorts = { [key]: {} };
    hostConfig.PortBindings = { [key]: [{ HostIp: "127.0.0.1", HostPort: "" }] };
  }
  if (c.network === "isolated" && c.appNetwork) {
    spec.NetworkingConfig = { EndpointsConfig: { [c.appNetwork]: { Aliases: [c.component] } } };
  }
  return spec;
}
