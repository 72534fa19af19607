// What the Docker runtime needs from the router (src/router/router.ts implements it). Kept apart so
// the rollout code and the proxy can be built and tested independently.

export interface Backend {
  /** Container id (or any id unique within the router). */
  id: string;
  /** Where the instance listens, e.g. `http://127.0.0.1:40123`. */
  url: string;
}

export interface StaticSiteRoot {
  /** Directory on the host holding the site's built output. */
  root: string;
  indexDocument: string;
  errorDocument?: string;
  catchallDocument?: string;
}

export interface AppRoute {
  component: string;
  pathPrefix: string;
  /** Exact host to match; undefined matches every host of the app. */
  authority?: string;
  preservePathPrefix: boolean;
  rewrite?: string;
}

export interface RouterApp {
  /** DNS label: the app answers at `<name>.<base domain>`. */
  name: string;
  /** Extra hostnames from the spec's `domains`. */
  domains: string[];
  /** Longest prefix wins; a request matching no route gets 404. */
  routes: AppRoute[];
}

export interface RouterControl {
  /** Create or replace an app's hostnames and routes (backends are kept). */
  setApp(app: RouterApp): void;
  removeApp(name: string): void;
  /** Start sending this component's traffic to the backend too (round robin among backends). */
  addBackend(app: string, component: string, backend: Backend): void;
  /**
   * Stop sending new requests to the backend; resolves when its in-flight requests (including open
   * WebSockets) have finished or `drainMs` passed, with how many were still open then.
   */
  removeBackend(app: string, component: string, backendId: string, drainMs: number): Promise<{ abandoned: number }>;
  setStaticSite(app: string, component: string, site: StaticSiteRoot | null): void;
  inFlight(backendId: string): number;
  /**
   * Resolves once every change made so far serves traffic. Immediate in process; a router spread over
   * worker processes applies changes a moment later, so a rollout awaits this before reporting an instance live.
   */
  sync?(): Promise<void>;
  /** Base URL clients use for an app, e.g. `http://web.localhost:8080`. */
  publicUrl(app: string): string;
}
