// Bridge mode: one Docker network per app, created once (concurrent callers share the creation).
import type Dockerode from "dockerode";
import { bridgeNetworkName } from "./container-spec.js";
import { LABEL } from "./labels.js";

export interface BridgeNetworks {
  /** The app's network, created if missing; resolves with its name. */
  ensure(appId: string): Promise<string>;
  remove(appId: string): Promise<void>;
}

export function createBridgeNetworks(docker: Dockerode, labels?: Record<string, string>): BridgeNetworks {
  const networks = new Map<string, Promise<string>>();

  async function create(name: string, appId: string): Promise<string> {
    const existing = await docker.listNetworks({ filters: { name: [name] } });
    if (!existing.some((n) => n.Name === name)) {
      await docker.createNetwork({
        Name: name,
        Driver: "bridge",
        Labels: { ...labels, [LABEL.managed]: "true", [LABEL.app]: appId },
      });
    }
    return name;
  }

  return {
    ensure(appId) {
      const name = bridgeNetworkName(appId);
      let pending = networks.get(name);
      if (!pending) {
        pending = create(name, appId);
        pending.catch(() => networks.delete(name));
        networks.set(name, pending);
      }
      return pending;
    },
    async remove(appId) {
      const name = bridgeNetworkName(appId);
      networks.delete(name);
      await docker.getNetwork(name).remove().catch(() => undefined);
    },
  };
}
