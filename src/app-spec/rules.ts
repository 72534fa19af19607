// Cross-field rules of the app spec (reference section 11), attached to the schema with superRefine. They run
// even when some other field of the same object failed its own check, so every rule reads its input
// defensively: a field may hold anything the YAML did.
import { distance as levenshtein } from "fastest-levenshtein";
import type { z } from "zod";
import { APP_ALERT_RULES, COMPONENT_ALERT_RULES, FUNCTION_ALERT_RULES } from "./constants.js";
import { findBindables } from "./bindables.js";

type Loose = Record<string, unknown>;
type Ctx = z.RefinementCtx;
type Path = (string | number)[];

function isObject(v: unknown): v is Loose {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function objects(v: unknown): Loose[] {
  return Array.isArray(v) ? v.map((x) => (isObject(x) ? x : {})) : [];
}
function has(o: Loose, key: string): boolean {
  return o[key] !== undefined;
}
function fail(ctx: Ctx, path: Path, message: string): void {
  ctx.addIssue({ code: "custom", message, path });
}

export const COMPONENT_KINDS = ["services", "static_sites", "workers", "jobs", "functions", "databases"] as const;
const GIT_SOURCES = ["git", "github", "gitlab", "bitbucket"] as const;

function checkSources(c: Loose, ctx: Ctx, allowImage: boolean): void {
  const kinds = allowImage ? [...GIT_SOURCES, "image"] : [...GIT_SOURCES];
  const present = kinds.filter((k) => has(c, k));
  const list = kinds.join(", ");
  if (present.length === 0) fail(ctx, [], `needs a source: set exactly one of ${list}`);
  for (const extra of present.slice(1)) {
    fail(ctx, [extra], `has more than one source (${present.join(" and ")}); keep exactly one of ${list}`);
  }
}

function checkInstances(c: Loose, ctx: Ctx): void {
  const autoscaling = c.autoscaling;
  if (!isObject(autoscaling)) return;
  if (has(c, "instance_count")) {
    fail(ctx, ["instance_count"], "instance_count cannot be set together with autoscaling; remove one of them");
  }
  const { min_instance_count: min, max_instance_count: max } = autoscaling;
  if (typeof min === "number" && typeof max === "number" && min > max) {
    fail(ctx, ["autoscaling", "min_instance_count"], `min_instance_count (${min}) is greater than max_instance_count (${max})`);
  }
  const size = c.instance_size_slug;
  if (typeof size === "string" && !size.startsWith("apps-d-")) {
    fail(
      ctx,
      ["autoscaling"],
      `autoscaling needs a dedicated-CPU instance size (apps-d-…), but instance_size_slug is ${size}`,
    );
  }
}

function checkAlerts(alerts: unknown, ctx: Ctx, level: "app" | "component" | "function"): void {
  objects(alerts).forEach((alert, i) => {
    const rule = alert.rule;
    if (typeof rule !== "string" || rule === "UNSPECIFIED_RULE") return;
    const isApp = (APP_ALERT_RULES as readonly string[]).includes(rule);
    const isComponent = (COMPONENT_ALERT_RULES as readonly string[]).includes(rule);
    const isFunction = (FUNCTION_ALERT_RULES as readonly string[]).includes(rule);
    const path = ["alerts", i, "rule"];
    if (level === "app" && !isApp) {
      fail(ctx, path, `${rule} is a component alert; app-level alerts take ${APP_ALERT_RULES.join(", ")}`);
    } else if (level === "component" && !isComponent) {
      fail(ctx, path, `${rule} is not a component alert; components take ${COMPONENT_ALERT_RULES.join(", ")}`);
    } else if (level === "function" && !isFunction && !isComponent) {
      fail(ctx, path, `${rule} is an app-level alert; put it under the top-level alerts`);
    }
    if (isComponent || isFunction) {
      const missing = [
        alert.operator === undefined || alert.operator === "UNSPECIFIED_OPERATOR" ? "operator (GREATER_THAN or LESS_THAN)" : "",
        alert.value === undefined ? "value" : "",
        alert.window === undefined || alert.window === "UNSPECIFIED_WINDOW" ? "window (FIVE_MINUTES, TEN_MINUTES, THIRTY_MINUTES or ONE_HOUR)" : "",
      ].filter(Boolean);
      if (missing.length > 0) fail(ctx, ["alerts", i], `alert ${rule} needs ${missing.join(", ")}`);
    }
  });
}

export function checkImage(image: Loose, ctx: Ctx): void {
  const type = image.registry_type;
  if (type === "DOCR" && typeof image.registry === "string" && image.registry !== "") {
    fail(ctx, ["registry"], "registry must be empty when registry_type is DOCR (the registry is your account's)");
  }
  if (type === "DOCKER_HUB" && !image.registry) {
    fail(ctx, [], "registry is required when registry_type is DOCKER_HUB (the Docker Hub user or organisation)");
  }
  if (has(image, "tag") && has(image, "digest")) fail(ctx, ["digest"], "set either tag or digest, not both");
  const deployOnPush = image.deploy_on_push;
  if (isObject(deployOnPush) && deployOnPush.enabled === true) {
    if (type !== "DOCR") fail(ctx, ["deploy_on_push"], `deploy_on_push is only supported for DOCR images, not ${String(type ?? "an unset registry_type")}`);
    else if (has(image, "digest")) fail(ctx, ["deploy_on_push"], "deploy_on_push needs a tag; it cannot follow a digest");
  }
}

export function checkCorsOrigin(match: Loose, ctx: Ctx): void {
  const set = ["exact", "prefix", "regex"].filter((k) => has(match, k));
  if (set.length !== 1) {
    fail(ctx, [], `an allowed origin needs exactly one of exact, prefix or regex${set.length ? `, found ${set.join(" and ")}` : ""}`);
  }
}

export function checkLogDestination(dest: Loose, ctx: Ctx): void {
  const kinds = ["papertrail", "datadog", "logtail", "open_search", "endpoint"].filter((k) => has(dest, k));
  if (kinds.length === 0) fail(ctx, [], "a log destination needs one of papertrail, datadog, logtail, open_search or endpoint");
  for (const extra of kinds.slice(1)) fail(ctx, [extra], `a log destination takes one destination, found ${kinds.join(" and ")}`);
  const search = dest.open_search;
  if (isObject(search) && has(search, "endpoint") === has(search, "cluster_name")) {
    fail(ctx, ["open_search"], "open_search needs exactly one of endpoint or cluster_name");
  }
}

export function checkIngressRule(rule: Loose, ctx: Ctx): void {
  const hasComponent = has(rule, "component");
  if (hasComponent === has(rule, "redirect")) {
    fail(ctx, hasComponent ? ["redirect"] : [], "an ingress rule needs exactly one of component or redirect");
  }
  const component = rule.component;
  if (isObject(component) && component.preserve_path_prefix !== undefined && has(component, "rewrite")) {
    fail(ctx, ["component", "rewrite"], "rewrite and preserve_path_prefix cannot both be set; rewrite already replaces the prefix");
  }
  const match = rule.match;
  const prefix = isObject(match) && isObject(match.path) ? match.path.prefix : undefined;
  if (typeof prefix === "string" && !prefix.startsWith("/")) {
    fail(ctx, ["match", "path", "prefix"], `path prefix must start with /, found "${prefix}"`);
  }
}

function checkRoutes(c: Loose, ctx: Ctx): void {
  objects(c.routes).forEach((route, i) => {
    if (route.path === undefined) fail(ctx, ["routes", i], "a route needs a path");
  });
}

export function checkService(s: Loose, ctx: Ctx): void {
  checkSources(s, ctx, true);
  checkInstances(s, ctx);
  checkAlerts(s.alerts, ctx, "component");
  checkRoutes(s, ctx);
  const http = s.http_port;
  if (typeof http === "number" && Array.isArray(s.internal_ports) && s.internal_ports.includes(http)) {
    fail(ctx, ["internal_ports"], `internal_ports repeats http_port ${http}; list only the extra private ports`);
  }
}

export function checkWorker(w: Loose, ctx: Ctx): void {
  checkSources(w, ctx, true);
  checkInstances(w, ctx);
  checkAlerts(w.alerts, ctx, "component");
}

const CRON_FIELD = /^[-0-9*/,A-Za-z?LW#]+$/;

export function checkJob(j: Loose, ctx: Ctx): void {
  checkSources(j, ctx, true);
  checkAlerts(j.alerts, ctx, "component");
  const schedule = j.schedule;
  if (j.kind === "SCHEDULED" && schedule === undefined) {
    fail(ctx, ["kind"], 'a SCHEDULED job needs schedule: {cron: "…", time_zone: "…"}');
  }
  if (schedule !== undefined && j.kind !== "SCHEDULED") {
    fail(ctx, ["schedule"], `schedule only applies to jobs of kind SCHEDULED, this job's kind is ${String(j.kind)}`);
  }
  if (isObject(schedule)) {
    const cron = schedule.cron;
    if (typeof cron === "string") {
      const fields = cron.trim().split(/\s+/);
      const macro = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(cron.trim());
      if (!macro && (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f)))) {
        fail(ctx, ["schedule", "cron"], `cron must have 5 fields (minute hour day month weekday), found "${cron}"`);
      }
    }
    const zone = schedule.time_zone;
    if (typeof zone === "string" && !isTimeZone(zone)) {
      fail(ctx, ["schedule", "time_zone"], `time_zone must be a tz database name such as Europe/Berlin, found "${zone}"`);
    }
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function checkStaticSite(s: Loose, ctx: Ctx): void {
  checkSources(s, ctx, false);
  checkRoutes(s, ctx);
  if (has(s, "catchall_document") && has(s, "error_document")) {
    fail(ctx, ["catchall_document"], "catchall_document and error_document cannot both be set; keep one");
  }
}

export function checkFunction(f: Loose, ctx: Ctx): void {
  checkSources(f, ctx, false);
  checkRoutes(f, ctx);
  checkAlerts(f.alerts, ctx, "function");
}

const KNOWN_ENGINES = ["UNSET", "MYSQL", "PG", "REDIS", "MONGODB", "KAFKA", "OPENSEARCH", "VALKEY"];

export function checkDatabase(db: Loose, ctx: Ctx): void {
  if (db.production === true && !db.cluster_name) {
    fail(ctx, ["production"], "a production database needs cluster_name (an existing managed database cluster)");
  }
  const engine = typeof db.engine === "string" && KNOWN_ENGINES.includes(db.engine) ? db.engine : undefined;
  if (db.production !== true && !db.cluster_name && typeof engine === "string" && engine !== "PG" && engine !== "UNSET") {
    fail(ctx, ["engine"], `dev databases are PostgreSQL only (engine: PG); for ${engine} set production: true and cluster_name`);
  }
  if (typeof engine === "string" && engine !== "PG" && engine !== "MYSQL") {
    for (const key of ["db_name", "db_user"]) {
      if (has(db, key)) fail(ctx, [key], `${key} applies only to MYSQL and PG databases, not ${engine}`);
    }
  }
}

interface Named {
  kind: (typeof COMPONENT_KINDS)[number];
  index: number;
  value: Loose;
  name: string | undefined;
}

function components(app: Loose): Named[] {
  return COMPONENT_KINDS.flatMap((kind) =>
    objects(app[kind]).map((value, index) => ({
      kind,
      index,
      value,
      name: typeof value.name === "string" ? value.name : undefined,
    })),
  );
}

export function checkApp(app: Loose, ctx: Ctx): void {
  const all = components(app);
  const seen = new Map<string, Named>();
  for (const c of all) {
    if (c.name === undefined) continue;
    const first = seen.get(c.name);
    if (first) {
      fail(ctx, [c.kind, c.index, "name"], `component name "${c.name}" is already used by ${first.kind}[${first.index}]; names must be unique across all components and databases`);
    } else {
      seen.set(c.name, c);
    }
  }

  checkAlerts(app.alerts, ctx, "app");

  const primaries = objects(app.domains).flatMap((d, i) => (d.type === "PRIMARY" ? [i] : []));
  for (const i of primaries.slice(1)) {
    fail(ctx, ["domains", i, "type"], `only one domain can be PRIMARY; domains[${primaries[0]}] already is`);
  }
  const domains = new Map<string, number>();
  objects(app.domains).forEach((d, i) => {
    if (typeof d.domain !== "string") return;
    const key = d.domain.toLowerCase().replace(/\.$/, "");
    const first = domains.get(key);
    if (first !== undefined) fail(ctx, ["domains", i, "domain"], `domain ${d.domain} is listed twice (also domains[${first}])`);
    else domains.set(key, i);
  });

  // Each route path may be claimed once, whether by a component's routes or by an ingress rule.
  const claimed = new Map<string, string>();
  for (const c of all) {
    objects(c.value.routes).forEach((route, i) => {
      if (typeof route.path !== "string") return;
      const where = `${c.kind}[${c.index}].routes[${i}]`;
      const first = claimed.get(route.path);
      if (first) fail(ctx, [c.kind, c.index, "routes", i, "path"], `route ${route.path} is already claimed by ${first}`);
      else claimed.set(route.path, where);
    });
  }
  const routable = new Map(
    all.filter((c) => c.kind === "services" || c.kind === "static_sites" || c.kind === "functions").map((c) => [c.name, c]),
  );
  const ingress = isObject(app.ingress) ? app.ingress : {};
  const ruleKeys = new Map<string, number>();
  objects(ingress.rules).forEach((rule, i) => {
    const match = isObject(rule.match) ? rule.match : {};
    const path = isObject(match.path) ? match.path : {};
    const authority = isObject(match.authority) ? match.authority : {};
    const key = JSON.stringify([authority.exact ?? null, authority.prefix ?? null, path.prefix ?? null, path.exact ?? null]);
    const first = ruleKeys.get(key);
    if (first !== undefined) {
      fail(ctx, ["ingress", "rules", i, "match"], `this match is already claimed by ingress.rules[${first}]`);
    } else {
      ruleKeys.set(key, i);
    }
    const target = isObject(rule.component) ? rule.component : undefined;
    if (target && typeof target.name === "string") {
      const named = routable.get(target.name);
      if (!named) {
        const other = all.find((c) => c.name === target.name);
        fail(
          ctx,
          ["ingress", "rules", i, "component", "name"],
          other
            ? `ingress can route only to services, static sites and functions; ${target.name} is in ${other.kind}`
            : `no service, static site or function is named "${target.name}"${nearestHint(target.name, [...routable.keys()].filter((n): n is string => n !== undefined))}`,
        );
      } else if (named.kind === "services" && named.value.http_port === undefined && Array.isArray(named.value.internal_ports) && named.value.internal_ports.length > 0) {
        fail(ctx, ["ingress", "rules", i, "component", "name"], `${target.name} is internal only (internal_ports and no http_port); give it an http_port to route to it`);
      } else if (named.kind === "functions" && target.preserve_path_prefix !== undefined) {
        fail(ctx, ["ingress", "rules", i, "component", "preserve_path_prefix"], "preserve_path_prefix does not apply to functions");
      }
    }
  });

  let containers = 0;
  for (const c of all) {
    if (c.kind !== "services" && c.kind !== "workers") continue;
    const auto = isObject(c.value.autoscaling) ? c.value.autoscaling.max_instance_count : undefined;
    const count = typeof auto === "number" ? auto : typeof c.value.instance_count === "number" ? c.value.instance_count : 1;
    containers += count;
  }
  if (containers > 250) fail(ctx, [], `the app would run up to ${containers} containers; App Platform allows at most 250 per app`);

  checkBindableTargets(app, all, ctx);
}

function checkBindableTargets(app: Loose, all: Named[], ctx: Ctx): void {
  const names = new Set(all.flatMap((c) => (c.name ? [c.name] : [])));
  const databases = new Set(all.flatMap((c) => (c.kind === "databases" && c.name ? [c.name] : [])));
  const checkEnvs = (envs: unknown, path: Path) => {
    objects(envs).forEach((env, i) => {
      if (typeof env.value !== "string") return;
      for (const ref of findBindables(env.value)) {
        if (ref.kind !== "component") continue;
        if (!names.has(ref.component)) {
          fail(ctx, [...path, i, "value"], `\${${ref.expression}} refers to "${ref.component}", which is not a component or database of this app${nearestHint(ref.component, [...names])}`);
        } else if (ref.pool !== undefined && !databases.has(ref.component)) {
          fail(ctx, [...path, i, "value"], `\${${ref.expression}}: only databases have connection pools, and ${ref.component} is not a database`);
        }
      }
    });
  };
  checkEnvs(app.envs, ["envs"]);
  for (const c of all) checkEnvs(c.value.envs, [c.kind, c.index, "envs"]);
}

/** ` (did you mean "x"?)` when a candidate is close enough to be a plausible typo, else "". */
export function nearestHint(word: string, candidates: readonly string[]): string {
  const best = nearest(word, candidates);
  return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const caseOnly = candidates.find((c) => c.toLowerCase() === lower);
  if (caseOnly !== undefined) return caseOnly;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance < word.length && bestDistance <= Math.max(1, Math.floor(word.length / 3))
    ? best
    : undefined;
}

