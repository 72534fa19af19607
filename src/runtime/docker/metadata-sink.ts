// No route to the cloud metadata address (169.254.169.254) in isolated mode, without iptables. Every app
// container and build joins one more network, internal, whose subnet is all of 169.254.0.0/16 and whose
// bridge has no address on the host: inside the container the whole link-local range is on that link, where
// nothing answers, so a request to the metadata service fails with "no route to host" instead of leaving
// through the app network's gateway. The host's own routes are untouched (it keeps its metadata access).
// Builds cannot join two networks, so each build runs in the network namespace of a small holder container
// that joined both (the build's RUN steps use `container:<holder>`), like a Kubernetes pod's pause container.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";
import * as tar from "tar";
import { LABEL, type ContainerRole } from "./labels.js";
import { pauseBinary } from "./pause-binary.js";

export const SINK_NETWORK = "berth-no-metadata";
export const SINK_SUBNET = "169.254.0.0/16";
export const HOLDER_IMAGE = "berth/netns-holder:1";

/** Create options of the sink; shared by every app (and every Berth) on the engine, never removed. */
export function sinkNetworkSpec(): Dockerode.NetworkCreateOptions {
  return {
    Name: SINK_NETWORK,
    Driver: "bridge",
    CheckDuplicate: true,
    Internal: true,
    Attachable: false,
    EnableIPv6: false,
    IPAM: { Driver: "default", Config: [{ Subnet: SINK_SUBNET, IPRange: "169.254.0.0/17", Gateway: "169.254.0.1" }] },
    Options: {
      // No address on the host's side: the host keeps routing 169.254.0.0/16 as before.
      "com.docker.network.bridge.inhibit_ipv4": "true",
      // Apps share this link; with the engine's iptables they cannot reach each other across it.
      "com.docker.network.bridge.enable_icc": "false",
    },
    Labels: { [LABEL.managed]: "true" },
  };
}

export interface BuildNetns {
  /** The build's `networkmode`: `container:<holder id>`. */
  mode: string;
  release(): Promise<void>;
}

export interface MetadataSink {
  /** Joins a created, not yet started container to the sink. */
  attach(container: Dockerode.Container): Promise<void>;
  /** A holder on `network` and the sink for one build; release it when the build ends. */
  buildNetns(network: string, labels: Record<string, string>): Promise<BuildNetns>;
}

export function createMetadataSink(docker: Dockerode): MetadataSink {
  let network: Promise<void> | undefined;
  let image: Promise<void> | undefined;

  function once(make: () => Promise<void>, slot: "network" | "image"): Promise<void> {
    let pending = slot === "network" ? network : image;
    if (!pending) {
      pending = make();
      pending.catch(() => (slot === "network" ? (network = undefined) : (image = undefined)));
      if (slot === "network") network = pending;
      else image = pending;
    }
    return pending;
  }

  const ensureNetwork = () => once(() => createSinkNetwork(docker), "network");
  const ensureImage = () => once(() => importHolderImage(docker), "image");

  return {
    async attach(container) {
      await ensureNetwork();
      await docker.getNetwork(SINK_NETWORK).connect({ Container: container.id });
    },
    async buildNetns(net, labels) {
      await Promise.all([ensureNetwork(), ensureImage()]);
      const holder = await docker.createContainer(holderSpec(net, labels));
      const release = () => holder.remove({ force: true }).catch(() => undefined);
      try {
        await docker.getNetwork(SINK_NETWORK).connect({ Container: holder.id });
        await holder.start();
      } catch (err) {
        await release();
        throw err;
      }
      return { mode: `container:${holder.id}`, release: async () => void (await release()) };
    },
  };
}

async function createSinkNetwork(docker: Dockerode): Promise<void> {
  const exists = async () => (await docker.listNetworks({ filters: { name: [SINK_NETWORK] } })).some((n) => n.Name === SINK_NETWORK);
  if (await exists()) return;
  try {
    await docker.createNetwork(sinkNetworkSpec());
  } catch (err) {
    // Another Berth on the engine may have created it meanwhile.
    if (await exists()) return;
    throw new Error(`cannot create Docker network ${SINK_NETWORK} (${SINK_SUBNET}, keeps apps from the cloud metadata address): ${(err as Error).message}`);
  }
}

async function importHolderImage(docker: Dockerode): Promise<void> {
  if (await docker.getImage(HOLDER_IMAGE).inspect().then(() => true, () => false)) return;
  const arch = (await docker.version()).Arch;
  const binary = pauseBinary(arch);
  if (!binary) throw new Error(`no network holder for the engine's architecture ${arch}: builds cannot be kept from the metadata address; use BERTH_DOCKER_NETWORK=host`);
  const dir = mkdtempSync(join(tmpdir(), "berth-holder-"));
  try {
    writeFileSync(join(dir, "pause"), binary, { mode: 0o755 });
    const [repo, tag] = HOLDER_IMAGE.split(":");
    const stream = await docker.importImage(tar.c({ cwd: dir, portable: true }, ["pause"]) as unknown as NodeJS.ReadableStream, { repo, tag });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The holder: nothing but the pause program, every privilege dropped, a few MB. */
export function holderSpec(network: string, labels: Record<string, string>): Dockerode.ContainerCreateOptions {
  return {
    Image: HOLDER_IMAGE,
    Cmd: ["/pause"],
    Labels: { ...labels, [LABEL.managed]: "true", [LABEL.role]: "build-netns" satisfies ContainerRole },
    HostConfig: {
      NetworkMode: network,
      Memory: 16 * 1024 * 1024,
      PidsLimit: 4,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: true,
      Privileged: false,
      Init: true,
      AutoRemove: false,
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
    },
  };
}
