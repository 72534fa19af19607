// The router spread over worker processes sharing one port (Node's cluster), because one Node process tops
// out at one core's worth of proxying (docs/benchmarks.md). This side lives in Berth's process: it keeps the
// routing state, checks every change against a model Router (so mistakes throw here, synchronously, as with
// the in-process router), and sends each change to every worker. A worker that starts, or restarts after a
// crash, first receives the whole state. Draining waits for every worker; metrics are summed over them.
import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from "prom-client";
import type { Backend, RouterApp, RouterControl, StaticSiteRoot } from "./router-contract.js";
import { buildPublicUrl } from "./router-routes.js";
import { Router, type RouterOptions } from "./router.js";

/** What every worker needs to build its Router (the logger and registry are its own). */
export interface WorkerSettings {
  port: number;
  host: string;
  baseDomain: string;
  publicUrlTemplate?: string;
  trustForwardedHeaders?: boolean;
  responseTimeoutMs?: number;
  logLevel: string;
}

/** One change of routing state, applied in order by every worker. */
export type RouterOp =
  | { op: "setApp"; app: RouterApp }
  | { op: "removeApp"; name: string }
  | { op: "addBackend"; app: string; component: string; backend: Backend }
  | { op: "setStaticSite"; app: string; component: string; site: StaticSiteRoot | null };

export type ToWorker =
  | { type: "state"; ops: RouterOp[] }
  | { type: "op"; change: RouterOp }
  | { type: "removeBackend"; seq: number; app: string; component: string; id: string; drainMs: number }
  | { type: "metrics"; seq: number }
  | { type: "sync"; seq: number }
  | { type: "close" };

export type FromWorker =
  | { type: "hello" }
  | { type: "listening"; port: number }
  | { type: "listenFailed"; message: string }
  | { type: "drained"; seq: number; abandoned: number }
  | { type: "synced"; seq: number }
  | { type: "metrics"; seq: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: "inFlight"; counts: [string, number][] };

export interface RouterClusterOptions extends Omit<RouterOptions, "registry"> {
  /** How many worker processes share the port (BERTH_ROUTER_WORKERS). */
  workers: number;
}

/** A crash loop must not fork as fast as the machine can: restarts wait at least this long after a crash. */
const RESTART_DELAY_MS = 1_000;

interface Member {
  worker: Worker;
  /** Has received the state, so later changes and drains concern it. */
  attached: boolean;
  listening: boolean;
  inFlight: Map<string, number>;
}

interface Pending<T> {
  waiting: Set<number>;
  results: T[];
  resolve: (results: T[]) => void;
}

export class RouterCluster implements RouterControl {
  private readonly model: Router;
  private readonly log: Logger;
  private readonly members = new Map<number, Member>();
  private readonly apps = new Map<string, RouterApp>();
  private readonly backends = new Map<string, { app: string; component: string; backend: Backend }>();
  private readonly sites = new Map<string, { app: string; component: string; site: StaticSiteRoot }>();
  private readonly pending = new Map<number, Pending<unknown>>();
  private seq = 0;
  private boundPort: number | undefined;
  private closing = false;
  /** Set once every worker listened; only then is a worker that dies replaced. */
  private serving = false;

  constructor(private readonly opts: RouterClusterOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`router: workers must be a whole number of at least 1, got ${opts.workers}`);
    this.log = opts.log.child({ module: "router" });
    // Never listens: it only checks changes exactly as each worker's router will.
    this.model = new Router({ ...opts, log: opts.log.child({ module: "router-model" }) });
  }

  /** Starts the workers; resolves with the port they share once every one listens. */
  async listen(): Promise<number> {
    try {
      const first = this.fork();
      this.boundPort = await this.whenListening(first);
      const rest = Array.from({ length: this.opts.workers - 1 }, () => this.fork());
      await Promise.all(rest.map((m) => this.whenListening(m)));
    } catch (err) {
      // A port in use fails every worker alike: stop them all rather than replace them.
      await this.close();
      throw err;
    }
    this.serving = true;
    this.log.info({ port: this.boundPort, host: this.opts.host ?? "127.0.0.1", workers: this.opts.workers }, "router listening");
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.members.values()].map(
      ({ worker }) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once("exit", () => resolve());
          const kill = setTimeout(() => worker.process.kill("SIGKILL"), 5_000);
          kill.unref();
          worker.once("exit", () => clearTimeout(kill));
          this.send(worker, { type: "close" });
        }),
    );
    await Promise.all(exits);
    for (const pending of this.pending.values()) pending.resolve(pending.results);
    this.pending.clear();
    await this.model.close();
  }

  setApp(app: RouterApp): void {
    this.model.setApp(app);
    this.apps.set(app.name, app);
    this.broadcast({ op: "setApp", app });
  }

  removeApp(name: string): void {
    this.model.removeApp(name);
    this.apps.delete(name);
    for (const [id, b] of this.backends) if (b.app === name) this.backends.delete(id);
    for (const [key, s] of this.sites) if (s.app === name) this.sites.delete(key);
    this.broadcast({ op: "removeApp", name });
  }

  addBackend(app: string, component: string, backend: Backend): void {
    this.model.addBackend(app, component, backend);
    this.backends.set(backend.id, { app, component, backend });
    this.broadcast({ op: "addBackend", app, component, backend });
  }

  async removeBackend(app: string, component: string, backendId: string, drainMs: number): Promise<{ abandoned: number }> {
    await this.model.removeBackend(app, component, backendId, 0);
    this.backends.delete(backendId);
    const seq = ++this.seq;
    const results = await this.ask<number>(seq, { type: "removeBackend", seq, app, component, id: backendId, drainMs });
    return { abandoned: results.reduce((sum, n) => sum + n, 0) };
  }

  setStaticSite(app: string, component: string, site: StaticSiteRoot | null): void {
    this.model.setStaticSite(app, component, site);
    const key = `${app}/${component}`;
    if (site) this.sites.set(key, { app, component, site });
    else this.sites.delete(key);
    this.broadcast({ op: "setStaticSite", app, component, site });
  }

  /** Workers serving right now (fewer than asked for while one is being replaced). */
  listeningWorkers(): number {
    let n = 0;
    for (const member of this.members.values()) if (member.listening) n++;
    return n;
  }

  /** Resolves once every worker has applied every change made so far. */
  async sync(): Promise<void> {
    const seq = ++this.seq;
    await this.ask(seq, { type: "sync", seq });
  }

  /** As last reported by the workers (each reports changes within a fraction of a second). */
  inFlight(backendId: string): number {
    let total = 0;
    for (const member of this.members.values()) total += member.inFlight.get(backendId) ?? 0;
    return total;
  }

  publicUrl(app: string): string {
    return buildPublicUrl(app, {
      baseDomain: this.opts.baseDomain,
      port: this.boundPort ?? this.opts.port,
      template: this.opts.publicUrlTemplate,
    });
  }

  /** The workers' request metrics, summed, as a registry to merge into Berth's own at scrape time. */
  async metrics(): Promise<Registry> {
    const seq = ++this.seq;
    const results = await this.ask<MetricObjectWithValues<MetricValue<string>>[]>(seq, { type: "metrics", seq });
    return results.length > 0 ? AggregatorRegistry.aggregate(results) : new Registry();
  }

  // ---- workers ----

  private fork(): Member {
    const entry = workerEntry();
    const settings: WorkerSettings = {
      // The same port as asked for, 0 included: the cluster hands every worker the one socket it opened.
      port: this.opts.port,
      host: this.opts.host ?? "127.0.0.1",
      baseDomain: this.opts.baseDomain,
      publicUrlTemplate: this.opts.publicUrlTemplate,
      trustForwardedHeaders: this.opts.trustForwardedHeaders,
      responseTimeoutMs: this.opts.responseTimeoutMs,
      logLevel: this.opts.log.level,
    };
    cluster.setupPrimary({ exec: entry.path, execArgv: entry.execArgv, args: [] });
    const worker = cluster.fork({ BERTH_ROUTER_WORKER: JSON.stringify(settings) });
    const member: Member = { worker, attached: false, listening: false, inFlight: new Map() };
    this.members.set(worker.id, member);
    worker.on("message", (msg: FromWorker) => this.onMessage(member, msg));
    worker.on("error", (err) => this.log.warn({ err, worker: worker.id }, "router worker channel error"));
    worker.once("exit", (code, signal) => this.onExit(member, code, signal));
    return member;
  }

  private whenListening(member: Member): Promise<number> {
    return new Promise((resolve, reject) => {
      const onMessage = (msg: FromWorker) => {
        if (msg.type === "listening") done(() => resolve(msg.port));
        if (msg.type === "listenFailed") done(() => reject(new Error(`router: ${msg.message}`)));
      };
      const onExit = (code: number | null) => done(() => reject(new Error(`router: worker exited (code ${code}) before it listened`)));
      const done = (settle: () => void) => {
        member.worker.off("message", onMessage);
        member.worker.off("exit", onExit);
        settle();
      };
      member.worker.on("message", onMessage);
      member.worker.once("exit", onExit);
    });
  }

  private onMessage(member: Member, msg: FromWorker): void {
    switch (msg.type) {
      case "hello":
        // Everything so far in one message; every later change follows it on the same ordered channel.
        this.send(member.worker, { type: "state", ops: this.stateOps() });
        member.attached = true;
        return;
      case "listening":
        member.listening = true;
        return;
      case "inFlight":
        member.inFlight = new Map(msg.counts);
        return;
      case "drained":
        this.answer(msg.seq, member.worker.id, msg.abandoned);
        return;
      case "metrics":
        this.answer(msg.seq, member.worker.id, msg.metrics);
        return;
      case "synced":
        this.answer(msg.seq, member.worker.id, true);
        return;
      case "listenFailed":
        return;
    }
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id);
    // Its requests died with it: nothing of it is in flight any more, and it answers nothing.
    for (const [seq, pending] of this.pending) {
      if (pending.waiting.delete(member.worker.id) && pending.waiting.size === 0) this.settle(seq);
    }
    if (this.closing || !this.serving) return;
    this.log.error({ worker: member.worker.id, code, signal }, "router worker exited; starting another");
    const replace = () => {
      if (this.closing) return;
      const next = this.fork();
      this.whenListening(next).catch((err: unknown) => this.log.error({ err }, "replacement router worker failed to listen"));
    };
    // A worker that dies on start would otherwise be replaced in a tight loop.
    setTimeout(replace, member.listening ? 0 : RESTART_DELAY_MS).unref();
  }

  private stateOps(): RouterOp[] {
    return [
      ...[...this.apps.values()].map((app): RouterOp => ({ op: "setApp", app })),
      ...[...this.backends.values()].map((b): RouterOp => ({ op: "addBackend", ...b })),
      ...[...this.sites.values()].map((s): RouterOp => ({ op: "setStaticSite", ...s })),
    ];
  }

  private broadcast(change: RouterOp): void {
    for (const member of this.members.values()) if (member.attached) this.send(member.worker, { type: "op", change });
  }

  /** Sends a question to every attached worker; resolves with the answers of those still alive. */
  private ask<T>(seq: number, message: ToWorker): Promise<T[]> {
    const targets = [...this.members.values()].filter((m) => m.attached);
    if (targets.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.pending.set(seq, { waiting: new Set(targets.map((m) => m.worker.id)), results: [], resolve: resolve as (r: unknown[]) => void });
      for (const member of targets) this.send(member.worker, message);
    });
  }

  private answer(seq: number, workerId: number, result: unknown): void {
    const pending = this.pending.get(seq);
    if (!pending || !pending.waiting.delete(workerId)) return;
    pending.results.push(result);
    if (pending.waiting.size === 0) this.settle(seq);
  }

  private settle(seq: number): void {
    const pending = this.pending.get(seq);
    if (!pending) return;
    this.pending.delete(seq);
    pending.resolve(pending.results);
  }

  private send(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return;
    worker.send(message, (err: Error | null) => {
      if (err && !this.closing) this.log.warn({ err, worker: worker.id }, "could not reach a router worker");
    });
  }
}

/** The worker's entry file, run as TypeScript through tsx when Berth itself runs from source. */
function workerEntry(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith(".ts");
  const path = fileURLToPath(new URL(fromSource ? "./router-worker.ts" : "./router-worker.js", import.meta.url));
  const inherited = process.execArgv;
  const hasTsx = inherited.some((arg) => arg.includes("tsx"));
  return { path, execArgv: fromSource && !hasTsx ? ["--import", "tsx"] : inherited };
}
