// Berth's policy warnings (reference section 15): things App Platform accepts that Berth accepts too but
// treats differently, named so nobody is surprised. They read the raw document, so they are found even
// when the spec also has errors.
import { DATACENTER_PATTERN, isAppPlatformEncrypted } from "./constants.js";
import { LEGACY_INSTANCE_SIZES } from "./instance-sizes.js";
import { findBindables } from "./bindables.js";
import { pathKey, type RawProblem, type Segment } from "./yaml-tree.js";

type Loose = Record<string, unknown>;

function isObject(v: unknown): v is Loose {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function objects(v: unknown): Loose[] {
  return Array.isArray(v) ? v.map((x) => (isObject(x) ? x : {})) : [];
}

const KINDS = ["services", "static_sites", "workers", "jobs", "functions", "databases"] as const;

export function findWarnings(app: unknown, base: Segment[]): RawProblem[] {
  const out: RawProblem[] = [];
  if (!isObject(app)) return out;
  const warn = (path: Segment[], message: string) => out.push({ severity: "warning", message, path: [...base, ...path] });

  if (typeof app.region === "string" && DATACENTER_PATTERN.test(app.region)) {
    warn(["region"], `region ${app.region} is a datacenter slug; App Platform's region is ${app.region.slice(0, 3)}. Berth ignores region`);
  }
  if (Array.isArray(app.functions) && app.functions.length > 0) {
    warn(["functions"], "Berth does not run functions; they are validated but not deployed");
  }
  if (app.egress !== undefined) warn(["egress"], "egress is not honoured by Berth; outbound traffic leaves from the host");
  if (app.vpc !== undefined) warn(["vpc"], "vpc is not honoured by Berth; components run on the runtime's own network");
  for (const flag of ["disable_edge_cache", "enhanced_threat_control_enabled", "disable_email_obfuscation"]) {
    if (app[flag] === true) warn([flag], `${flag} is a DigitalOcean edge setting; Berth has no edge and ignores it`);
  }
  if (Array.isArray(app.alerts) && app.alerts.length > 0) {
    warn(["alerts"], "Berth does not send alerts; alert rules are validated but not acted on");
  }

  const databases = new Set(objects(app.databases).flatMap((d) => (typeof d.name === "string" ? [d.name] : [])));
  const checkEnvs = (envs: unknown, path: Segment[]) => {
    const keys = new Map<unknown, number>();
    objects(envs).forEach((env, i) => {
      const first = keys.get(env.key);
      if (typeof env.key === "string" && first !== undefined) {
        warn([...path, i, "key"], `env ${env.key} is set twice (also ${pathKey([...base, ...path, first])}); the later one wins`);
      } else {
        keys.set(env.key, i);
      }
      if (typeof env.value !== "string") return;
      if (env.type === "SECRET" && env.value !== "" && !env.value.includes("${") && !isAppPlatformEncrypted(env.value)) {
        warn(
          [...path, i, "value"],
          `SECRET ${String(env.key)} is written in the spec in plain text, readable by anyone who can read the repository; ` +
            `store it with \`berth secrets set <owner/repo> ${String(env.key)}\` and leave value out`,
        );
      }
      for (const ref of findBindables(env.value)) {
        if (ref.kind === "unknown") {
          warn([...path, i, "value"], `\${${ref.expression}} is not a bindable variable; it is passed on as written`);
        } else if (ref.kind === "component" && databases.has(ref.component) && env.scope === "BUILD_TIME") {
          warn([...path, i, "value"], `\${${ref.expression}} is a database bindable, which exists only at run time; at build time it stays as written`);
        }
      }
    });
  };
  checkEnvs(app.envs, ["envs"]);

  for (const kind of KINDS) {
    objects(app[kind]).forEach((c, i) => {
      const at = (...rest: Segment[]) => [kind, i, ...rest];
      checkEnvs(c.envs, at("envs"));
      const size = c.instance_size_slug;
      if (typeof size === "string" && Object.hasOwn(LEGACY_INSTANCE_SIZES, size)) {
        const replacement = LEGACY_INSTANCE_SIZES[size as keyof typeof LEGACY_INSTANCE_SIZES].replacement;
        warn(at("instance_size_slug"), `instance size ${size} is deprecated; use ${replacement}`);
      }
      if (c.log_destinations !== undefined) warn(at("log_destinations"), "log_destinations are not honoured by Berth; read logs through Berth instead");
      if (Array.isArray(c.alerts) && c.alerts.length > 0 && kind !== "functions") {
        warn(at("alerts"), "Berth does not send alerts; alert rules are validated but not acted on");
      }
      if (kind === "functions") return;
      if (c.routes !== undefined) warn(at("routes"), "routes is deprecated; use ingress.rules");
      if (c.cors !== undefined) warn(at("cors"), "cors on a component is deprecated; use ingress.rules[].cors");
      for (const check of ["health_check", "liveness_health_check"]) {
        const hc = c[check];
        if (isObject(hc) && hc.path !== undefined) warn(at(check, "path"), "path is deprecated; use http_path");
      }
      if (kind === "databases") {
        for (const old of ["size", "num_nodes"]) if (c[old] !== undefined) warn(at(old), `${old} is deprecated for databases and ignored`);
      }
    });
  }
  return out;
}
