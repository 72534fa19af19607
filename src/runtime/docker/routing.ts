// The routing table the runtime hands to the router: per app, its name, domains and each component's routes.
// The router always receives an app's whole routing, so a component's change never drops another's routes.
import type { AppRoute, RouterControl } from "../../router/router-contract.js";
import type { RolloutRecord } from "./container-spec.js";

interface AppRouting {
  appName: string;
  domains: string[];
  routes: Map<string, AppRoute[]>;
}

export interface RoutingTable {
  get(appId: string): AppRouting | undefined;
  /** Sets (or with null, drops) one component's routes and hands the app's whole routing to the router. */
  set(appId: string, appName: string, domains: string[], component: string, rollout: RolloutRecord | null): void;
  delete(appId: string): void;
}

export function createRoutingTable(router: RouterControl): RoutingTable {
  const routing = new Map<string, AppRouting>();
  return {
    get: (appId) => routing.get(appId),
    set(appId, appName, domains, component, rollout) {
      let app = routing.get(appId);
      if (!app) {
        app = { appName, domains, routes: new Map() };
        routing.set(appId, app);
      }
      app.appName = appName;
      app.domains = domains;
      if (rollout) {
        app.routes.set(
          component,
          rollout.routes.map((r) => ({
            component,
            pathPrefix: r.pathPrefix,
            authority: r.authority,
            preservePathPrefix: r.preservePathPrefix,
            rewrite: r.rewrite,
          })),
        );
      } else {
        app.routes.delete(component);
      }
      router.setApp({ name: app.appName, domains: app.domains, routes: [...app.routes.values()].flat() });
    },
    delete: (appId) => void routing.delete(appId),
  };
}
