// Isolated mode: each app gets its own Docker networks, created once (concurrent callers share the creation):
// the app network its instances, jobs and dev databases join, and a build network its builds run on.
import type Dockerode from "dockerode";
import { appNetworkName, buildNetworkName } from "./container-spec.js";
import { LABEL } from "./labels.js";

export interface AppNetworks {
  /** The app's network, created if missing; resolves with its name. */
  ensure(appId: string): Promise<string>;
  /** The network the app's builds run on, created if missing; resolves with its name. */
  ensureBuild(appId: string): Promise<string>;
  remove(appId: string): Promise<void>;
}

/**
 * The create options of an app's network. Not `Internal`: the engine publishes no ports from an internal
 * network (the router could not reach the instances) and apps call outside APIs. Separation from other apps
 * and the host's loopback comes from the network being the app's own; see docs/docker-runtime.md, Isolation.
 */
export function networkSpecFor(name: string, appId: string, labels?: Record<string, string>): Dockerode.NetworkCreateOptions {
  return {
    Name: name,
    Driver: "bridge",
    CheckDuplicate: true,
    Internal: false,
    Attachable: false,
    EnableIPv6: false,
    // Containers of other networks and the host's own addresses stay unreachable only with the engine's
    // inter-container isolation; ICC inside the app's network is what lets its components reach each other.
    Options: { "com.docker.network.bridge.enable_icc": "true" },
    Labels: { ...labels, [LABEL.managed]: "true", [LABEL.app]: appId },
  };
}

export function createAppNetworks(docker: Dockerode, labels?: Record<string, string>): AppNetworks {
  const networks = new Map<string, Promise<string>>();

  async function create(name: string, appId: string): Promise<string> {
    const existing = await docker.listNetworks({ filters: { name: [name] } });
    if (!existing.some((n) => n.Name === name)) await docker.createNetwork(networkSpecFor(name, appId, labels));
    return name;
  }

  function ensureNamed(name: string, appId: string): Promise<string> {
    let pending = networks.get(name);
    if (!pending) {
      pending = create(name, appId);
      pending.catch(() => networks.delete(name));
      networks.set(name, pending);
    }
    return pending;
  }

  return {
    ensure: (appId) => ensureNamed(appNetworkName(appId), appId),
    ensureBuild: (appId) => ensureNamed(buildNetworkName(appId), appId),
    async remove(appId) {
      for (const name of [appNetworkName(appId), buildNetworkName(appId)]) {
        networks.delete(name);
        await docker.getNetwork(name).remove().catch(() => undefined);
      }
    },
  };
}
