// Berth's reverse proxy for the Docker runtime. It sends `<app>.<base domain>` and each app's domains to the
// app's healthy instances, round robin, following the spec's routes; serves static sites from disk; and
// drains an instance before the rollout stops it. HTTP goes out through undici's pools (router-forward.ts),
// WebSockets through http-proxy-3; routing, retries and draining are ours.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { performance } from "node:perf_hooks";
import { ProxyServer } from "http-proxy-3";
import type { Pool as InstancePool } from "undici";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { AppRoute, Backend, RouterApp, RouterControl, StaticSiteRoot } from "./router-contract.js";
import { createRouterMetrics, noMetrics, type RouterMetrics } from "./router-metrics.js";
import { pages, sendPage, sendPageOnSocket, type RouterPage } from "./router-pages.js";
import {
  buildPublicUrl,
  matchRoute,
  normalizeHost,
  rewritePath,
  sortRoutes,
  splitUrl,
  validatePublicUrlTemplate,
} from "./router-routes.js";
import { prepareSite, serveStaticSite, type ServedSite } from "./router-static.js";
import {
  createFreshConnection,
  createInstancePool,
  Exchange,
  FORWARDED,
  forwardedHeaders,
  requestHeaders,
  RESPONSE_HEADERS_TIMEOUT_MS,
} from "./router-forward.js";

export interface RouterOptions {
  /** BERTH_ROUTER_PORT; 0 picks a free port (see `listen()`'s result). */
  port: number;
  /** Interface to bind: `0.0.0.0` in production, `127.0.0.1` (the default) in tests. */
  host?: string;
  /** BERTH_BASE_DOMAIN: app `web` answers at `web.<baseDomain>`. */
  baseDomain: string;
  /** BERTH_PUBLIC_URL, e.g. `https://{app}.example.com`, when a TLS proxy sits in front of the router. */
  publicUrlTemplate?: string;
  /**
   * Keep X-Forwarded-Proto/Host/Port a client sent (X-Forwarded-For is always appended to, never replaced).
   * Only for a router reachable solely through a trusted proxy; defaults to true when `publicUrlTemplate` is set.
   */
  trustForwardedHeaders?: boolean;
  /** How long an instance may take to send its response headers before the client gets a 504 page. */
  responseTimeoutMs?: number;
  log: Logger;
  /** Where request metrics go; none are kept without one. */
  registry?: Registry;
}

interface BackendState {
  backend: Backend;
  key: string;
  target: URL;
  pool: InstancePool;
  inFlight: number;
  removed: boolean;
  /** Client sockets of WebSockets open through this backend, closed if still open at the drain deadline. */
  sockets: Set<Duplex>;
  onIdle: (() => void)[];
}

interface Pool {
  backends: BackendState[];
  next: number;
  site: ServedSite | null;
}

interface Attempt {
  /** Backends this request was sent to. */
  tried: Set<BackendState>;
  staleRetried: boolean;
  /** The attempt under way, told when the client goes away. */
  exchange?: Exchange;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

interface AppState {
  app: RouterApp;
  routes: AppRoute[];
  hosts: string[];
}

interface Destination {
  app: string;
  component: string;
  pool: Pool | undefined;
  /** Path and query the component receives. */
  url: string;
  path: string;
  query: string;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class Router implements RouterControl {
  private readonly apps = new Map<string, AppState>();
  private readonly hosts = new Map<string, string>();
  private readonly pools = new Map<string, Pool>();
  private readonly backends = new Map<string, BackendState>();
  private readonly proxy = new ProxyServer();
  private readonly server: Server;
  private readonly metrics: RouterMetrics;
  private readonly log: Logger;
  private readonly trustForwarded: boolean;
  private readonly responseTimeoutMs: number;
  private boundPort: number | undefined;

  constructor(private readonly opts: RouterOptions) {
    if (opts.publicUrlTemplate !== undefined) validatePublicUrlTemplate(opts.publicUrlTemplate);
    this.log = opts.log.child({ module: "router" });
    this.trustForwarded = opts.trustForwardedHeaders ?? opts.publicUrlTemplate !== undefined;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? RESPONSE_HEADERS_TIMEOUT_MS;
    this.metrics = opts.registry ? createRouterMetrics(opts.registry, () => this.totalInFlight()) : noMetrics;
    // WebSocket errors reach the callback passed with each upgrade; this only keeps a stray one from throwing.
    this.proxy.on("error", (err) => this.log.warn({ err }, "proxy error outside a request"));
    this.server = createServer((req, res) => this.handleRequest(req, res));
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === "ECONNRESET" || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    });
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host ?? "127.0.0.1", () => {
        this.server.off("error", reject);
        const address = this.server.address();
        this.boundPort = typeof address === "object" && address ? address.port : this.opts.port;
        this.log.info({ port: this.boundPort, host: this.opts.host ?? "127.0.0.1" }, "router listening");
        resolve(this.boundPort);
      });
    });
  }

  /** Stops listening and drops every connection, WebSockets included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const state of this.backends.values()) {
      for (const socket of state.sockets) socket.destroy();
      void state.pool.destroy();
    }
    await closed;
  }

  setApp(app: RouterApp): void {
    if (!DNS_LABEL.test(app.name)) {
      throw new Error(`router: app name "${app.name}" is not a DNS label (lower-case letters, digits and dashes)`);
    }
    const hosts = [`${app.name}.${this.opts.baseDomain}`, ...app.domains].map(normalizeHost);
    for (const host of hosts) {
      const owner = this.hosts.get(host);
      if (owner !== undefined && owner !== app.name) {
        throw new Error(`router: ${host} already belongs to app ${owner}; app ${app.name} cannot also claim it`);
      }
    }
    const previous = this.apps.get(app.name);
    for (const host of previous?.hosts ?? []) this.hosts.delete(host);
    for (const host of hosts) this.hosts.set(host, app.name);
    this.apps.set(app.name, { app, routes: sortRoutes(app.routes), hosts });
  }

  removeApp(name: string): void {
    const state = this.apps.get(name);
    if (state) for (const host of state.hosts) this.hosts.delete(host);
    this.apps.delete(name);
    for (const [key, pool] of this.pools) {
      if (!key.startsWith(`${name}/`)) continue;
      for (const backend of pool.backends) this.retire(backend);
      this.pools.delete(key);
    }
  }

  addBackend(app: string, component: string, backend: Backend): void {
    const existing = this.backends.get(backend.id);
    if (existing && !existing.removed) return;
    if (existing) throw new Error(`router: backend ${backend.id} is still draining; add the new instance under a new id`);
    let target: URL;
    try {
      target = new URL(backend.url);
    } catch {
      throw new Error(`router: backend ${backend.id} has URL "${backend.url}", which is not an absolute URL`);
    }
    if (target.protocol !== "http:") {
      throw new Error(`router: backend ${backend.id} has URL "${backend.url}"; only http:// backends are supported`);
    }
    const key = poolKey(app, component);
    const state: BackendState = {
      backend,
      key,
      target,
      pool: createInstancePool(target.origin, this.responseTimeoutMs),
      inFlight: 0,
      removed: false,
      sockets: new Set(),
      onIdle: [],
    };
    this.backends.set(backend.id, state);
    this.pool(key).backends.push(state);
  }

  removeBackend(app: string, component: string, backendId: string, drainMs: number): Promise<{ abandoned: number }> {
    const state = this.backends.get(backendId);
    if (!state) return Promise.resolve({ abandoned: 0 });
    if (state.key !== poolKey(app, component)) {
      // Ids are unique within the router, so the backend is still the one meant; say so and carry on.
      this.log.warn({ backend: backendId, registeredAs: state.key, removedAs: poolKey(app, component) }, "backend removed under another app/component");
    }
    this.retire(state);
    if (state.inFlight === 0) return Promise.resolve({ abandoned: 0 });
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve({ abandoned: 0 });
      };
      const timer = setTimeout(() => {
        state.onIdle = state.onIdle.filter((f) => f !== done);
        const abandoned = state.inFlight;
        this.log.warn({ backend: backendId, abandoned, drainMs }, "drain deadline passed; closing its WebSockets");
        for (const socket of state.sockets) socket.destroy();
        resolve({ abandoned });
      }, drainMs);
      state.onIdle.push(done);
    });
  }

  setStaticSite(app: string, component: string, site: StaticSiteRoot | null): void {
    this.pool(poolKey(app, component)).site = site ? prepareSite(site) : null;
  }

  inFlight(backendId: string): number {
    return this.backends.get(backendId)?.inFlight ?? 0;
  }

  /** Changes apply as they are made here; see RouterCluster for where they do not. */
  sync(): Promise<void> {
    return Promise.resolve();
  }

  /** Every backend with something in flight, with its count. */
  inFlightCounts(): [string, number][] {
    const counts: [string, number][] = [];
    for (const [id, state] of this.backends) if (state.inFlight > 0) counts.push([id, state.inFlight]);
    return counts;
  }

  publicUrl(app: string): string {
    return buildPublicUrl(app, {
      baseDomain: this.opts.baseDomain,
      port: this.boundPort ?? this.opts.port,
      template: this.opts.publicUrlTemplate,
    });
  }

  private pool(key: string): Pool {
    let pool = this.pools.get(key);
    if (!pool) {
      pool = { backends: [], next: 0, site: null };
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Takes a backend out of rotation; it is forgotten once its last request finishes. */
  private retire(state: BackendState): void {
    state.removed = true;
    const pool = this.pools.get(state.key);
    if (pool) {
      const index = pool.backends.indexOf(state);
      if (index !== -1) pool.backends.splice(index, 1);
    }
    if (state.inFlight === 0) this.forget(state);
  }

  private forget(state: BackendState): void {
    void state.pool.close();
    if (this.backends.get(state.backend.id) === state) this.backends.delete(state.backend.id);
    for (const notify of state.onIdle.splice(0)) notify();
  }

  private release(state: BackendState): void {
    state.inFlight--;
    if (state.inFlight === 0 && state.removed) this.forget(state);
  }

  private totalInFlight(): number {
    let total = 0;
    for (const state of this.backends.values()) total += state.inFlight;
    return total;
  }

  /**
   * Round robin over the pool, skipping backends this request already tried. A retry does not move the
   * rotation on, so one refusing instance does not shift every later request's choice.
   */
  private pick(pool: Pool, tried: Set<BackendState>): BackendState | undefined {
    const list = pool.backends;
    for (let i = 0; i < list.length; i++) {
      const index = (pool.next + i) % list.length;
      const candidate = list[index]!;
      if (tried.has(candidate)) continue;
      if (tried.size === 0) pool.next = (index + 1) % list.length;
      return candidate;
    }
    return undefined;
  }

  /** Where a request goes, or the page to answer it with. */
  private resolve(req: IncomingMessage): Destination | { page: RouterPage; app: string } {
    const host = normalizeHost(req.headers.host);
    const appName = this.hosts.get(host);
    const state = appName === undefined ? undefined : this.apps.get(appName);
    if (!state) return { page: pages.unknownHost(host), app: "" };
    const [path, query] = splitUrl(req.url ?? "/");
    const route = matchRoute(state.routes, host, path);
    if (!route) return { page: pages.noRoute(state.app.name, path), app: state.app.name };
    return {
      app: state.app.name,
      component: route.component,
      pool: this.pools.get(poolKey(state.app.name, route.component)),
      url: rewritePath(route, path) + query,
      path,
      query,
    };
  }

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const dest = this.resolve(req);
    const component = "component" in dest ? dest.component : "";
    const attempt: Attempt = { tried: new Set(), staleRetried: false };
    const observe = this.metrics !== noMetrics;
    res.once("close", () => {
      attempt.exchange?.clientClosed();
      if (observe) this.metrics.observe(dest.app, component, res.statusCode, (performance.now() - started) / 1000);
    });
    if ("page" in dest) {
      sendPage(res, dest.page);
      return;
    }
    const site = dest.pool?.site;
    if (site) {
      const path = splitUrl(dest.url)[0];
      serveStaticSite(req, res, site, path, dest.path, dest.query).catch((err: unknown) => {
        this.log.error({ err, app: dest.app, component }, "static site failed");
        if (!res.headersSent) sendPage(res, pages.staticNotFound(dest.path));
        else res.destroy();
      });
      return;
    }
    const headers = requestHeaders(req, FORWARDED);
    for (const [name, value] of forwardedHeaders(req, this.trustForwarded)) headers.push(name, value);
    this.forward(req, res, dest, headers, attempt);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    dest: Destination,
    headers: string[],
    attempt: Attempt,
    again?: BackendState,
  ): void {
    const state = again ?? (dest.pool && this.pick(dest.pool, attempt.tried));
    if (!state) {
      const page = attempt.tried.size > 0 ? pages.unreachable(dest.app, dest.component) : pages.noInstance(dest.app, dest.component);
      sendPage(res, page);
      return;
    }
    attempt.tried.add(state);
    state.inFlight++;
    const fresh = again ? createFreshConnection(state.target.origin, this.responseTimeoutMs) : undefined;
    const exchange = new Exchange(res, (failure, err) => {
      if (fresh) void fresh.close().catch(() => fresh.destroy());
      this.release(state);
      if (failure === undefined || failure === "aborted") return;
      const log = { app: dest.app, component: dest.component, backend: state.backend.id };
      if (failure === "broken") {
        this.log.warn({ ...log, err }, "instance failed mid-response; the client was cut off");
        return;
      }
      if (res.destroyed) return;
      // Safe to send again: the instance never accepted the connection, and no body was consumed.
      const unsent = !req.readableDidRead;
      if (failure === "refused" && unsent) {
        this.metrics.retried(dest.app, dest.component);
        this.log.debug(log, "connection refused; trying another instance");
        this.forward(req, res, dest, headers, attempt);
        return;
      }
      // The keep-alive race: the instance closed an idle connection just as we reused it (servers that do
      // not announce their idle timeout cause it). The request most likely never reached the app, so a safe
      // one (GET, HEAD, OPTIONS) goes once more, to the same instance, on a fresh connection. Anything else,
      // or a second failure, is the app's and answered 502.
      if (failure === "stale" && unsent && !attempt.staleRetried && SAFE_METHODS.has(req.method ?? "")) {
        attempt.staleRetried = true;
        this.metrics.retried(dest.app, dest.component);
        this.log.debug(log, "kept-alive connection was closed by the instance; sending again on a new one");
        this.forward(req, res, dest, headers, attempt, state);
        return;
      }
      this.log.warn({ ...log, err, failure }, "proxying failed");
      const seconds = this.responseTimeoutMs / 1000;
      sendPage(res, failure === "timeout" ? pages.timedOut(dest.app, dest.component, seconds) : pages.badGateway(dest.app, dest.component));
    });
    // Known to the request before it starts, since undici may report a failure at once.
    attempt.exchange = exchange;
    exchange.start(fresh ?? state.pool, req, { path: dest.url, headers });
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const dest = this.resolve(req);
    if ("page" in dest) {
      sendPageOnSocket(socket, dest.page);
      return;
    }
    if (dest.pool?.site) {
      sendPageOnSocket(socket, pages.notWebSocket(dest.app, dest.component));
      return;
    }
    const state = dest.pool && this.pick(dest.pool, new Set());
    if (!state) {
      sendPageOnSocket(socket, pages.noInstance(dest.app, dest.component));
      return;
    }
    for (const [name, value] of forwardedHeaders(req, this.trustForwarded)) req.headers[name] = value;
    req.url = dest.url;
    state.inFlight++;
    state.sockets.add(socket);
    socket.once("close", () => {
      state.sockets.delete(socket);
      this.release(state);
    });
    this.proxy.ws(req, socket, head, { target: state.target }, (err: Error) => {
      this.log.warn({ err, app: dest.app, component: dest.component, backend: state.backend.id }, "WebSocket proxying failed");
    });
  }
}

function poolKey(app: string, component: string): string {
  return `${app}/${component}`;
}
