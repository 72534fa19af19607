// Internal addresses in host mode. Instances get a fresh port on every deploy, so `${api.PRIVATE_URL}` points at
// a stable per-component port on 127.0.0.1 where Berth forwards TCP to the component's current instances
// (round robin). The port is derived from the app and component so it survives a Berth restart.
import { createHash } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "./logger.js";

interface Entry {
  port: number;
  server?: Server;
  targets: number[];
  next: number;
}

export class PrivatePorts {
  private readonly entries = new Map<string, Entry>();
  private readonly taken = new Set<number>();

  constructor(
    private readonly base: number,
    private readonly size: number,
    private readonly log: Logger,
  ) {}

  private key(appId: string, component: string): string {
    return `${appId}\u0000${component}`;
  }

  /** The stable port for a component; starts listening on first use. */
  portFor(appId: string, component: string): number {
    const key = this.key(appId, component);
    const existing = this.entries.get(key);
    if (existing) return existing.port;
    const hash = createHash("sha256").update(key).digest().readUInt32BE(0);
    let port = this.base + (hash % this.size);
    while (this.taken.has(port)) port = this.base + ((port - this.base + 1) % this.size);
    this.taken.add(port);
    const entry: Entry = { port, targets: [], next: 0 };
    this.entries.set(key, entry);
    this.listen(appId, component, entry);
    return port;
  }

  /** Where the forwarder for this component sends connections now. */
  setTargets(appId: string, component: string, ports: number[]): void {
    this.portFor(appId, component);
    this.entries.get(this.key(appId, component))!.targets = [...ports];
  }

  release(appId: string, component: string): void {
    const key = this.key(appId, component);
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.server?.close();
    this.taken.delete(entry.port);
    this.entries.delete(key);
  }

  close(): void {
    for (const entry of this.entries.values()) entry.server?.close();
    this.entries.clear();
    this.taken.clear();
  }

  private listen(appId: string, component: string, entry: Entry): void {
    const server = createServer((client: Socket) => {
      if (entry.targets.length === 0) {
        client.destroy();
        return;
      }
      const target = entry.targets[entry.next++ % entry.targets.length]!;
      const upstream = connect({ host: "127.0.0.1", port: target });
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end);
      upstream.on("error", end);
    });
    server.on("error", (err) =>
      this.log.error(
        { err, appId, component, port: entry.port },
        "private address port is in use by another process; set BERTH_PRIVATE_PORT_BASE to a free range",
      ),
    );
    server.listen(entry.port, "127.0.0.1");
    server.unref();
    entry.server = server;
  }
}
