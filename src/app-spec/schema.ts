// The App Platform app spec as one zod schema: shapes, ranges and defaults live here; rules that relate one
// field to another live in rules.ts and are attached with superRefine below. Types come from z.output.
import { z } from "zod";
import {
  checkApp,
  checkDatabase,
  checkFunction,
  checkJob,
  checkService,
  checkStaticSite,
  checkWorker,
  checkLogDestination,
  checkIngressRule,
  checkCorsOrigin,
  checkImage,
} from "./rules.js";
import { ALL_INSTANCE_SIZE_SLUGS } from "./instance-sizes.js";
import {
  APP_ALERT_RULES,
  COMPONENT_ALERT_RULES,
  DATACENTER_PATTERN,
  DOMAIN_PATTERN,
  ENV_KEY_PATTERN,
  FUNCTION_ALERT_RULES,
  LOG_DESTINATION_NAME_PATTERN,
  NAME_PATTERN,
  REGIONS,
  UUID_PATTERN,
} from "./constants.js";

const str = () => z.string();
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const name = (what: string) =>
  z
    .string()
    .regex(NAME_PATTERN, `${what} must be 2 to 32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen`);
const maxLen = (n: number) => z.string().max(n);
// Cross-field rules run even when a sibling field failed (so every problem is reported at once), but only
// on a mapping: on anything else the type error says it all.
const always = {
  when: (payload: { value: unknown }) =>
    typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value),
};

// ---- shared pieces ----

export const envVarSchema = z.strictObject({
  key: z.string().regex(ENV_KEY_PATTERN, "env key must be a valid variable name: letters, digits and _, not starting with a digit"),
  value: str().optional(),
  scope: z.enum(["UNSET", "RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"]).default("RUN_AND_BUILD_TIME"),
  type: z.enum(["GENERAL", "SECRET"]).default("GENERAL"),
});

const gitSourceSchema = z.strictObject({ repo_clone_url: maxLen(255).optional(), branch: str().optional() });
const githubSourceSchema = z.strictObject({
  repo: z.string().regex(/^[^/]+\/[^/]+$/, "repo must be owner/name").optional(),
  branch: str().optional(),
  deploy_on_push: z.boolean().optional(),
});
const gitlabSourceSchema = z.strictObject({
  repo: z.string().regex(/^[^/]+(\/[^/]+)+$/, "repo must be group/name (subgroups allowed)").optional(),
  branch: str().optional(),
  deploy_on_push: z.boolean().optional(),
});
const bitbucketSourceSchema = gitlabSourceSchema;

export const imageSourceSchema = z
  .strictObject({
    registry_type: z.enum(["DOCR", "DOCKER_HUB", "GHCR", "UNSPECIFIED"]).optional(),
    registry: maxLen(192).optional(),
    repository: maxLen(192),
    tag: maxLen(192).optional(),
    digest: maxLen(192).optional(),
    registry_credentials: str().optional(),
    deploy_on_push: z.strictObject({ enabled: z.boolean().optional() }).optional(),
  })
  .superRefine(checkImage, always)
  .transform((image) => (image.tag === undefined && image.digest === undefined ? { ...image, tag: "latest" } : image));

const gitSources = {
  git: gitSourceSchema.optional(),
  github: githubSourceSchema.optional(),
  gitlab: gitlabSourceSchema.optional(),
  bitbucket: bitbucketSourceSchema.optional(),
};

const buildFields = {
  dockerfile_path: str().optional(),
  build_command: str().optional(),
  source_dir: str().optional(),
  environment_slug: str().optional(),
};

const corsStringMatchSchema = z
  .strictObject({ exact: maxLen(256).optional(), prefix: maxLen(256).optional(), regex: maxLen(256).optional() })
  .superRefine(checkCorsOrigin, always);

export const corsSchema = z.strictObject({
  allow_origins: z.array(corsStringMatchSchema).optional(),
  allow_methods: z.array(str()).optional(),
  allow_headers: z.array(str()).optional(),
  expose_headers: z.array(str()).optional(),
  max_age: str().optional(),
  allow_credentials: z.boolean().optional(),
});

const routeSchema = z.strictObject({
  path: z.string().startsWith("/", "route path must start with /").optional(),
  preserve_path_prefix: z.boolean().optional(),
});

export const alertSchema = z.strictObject({
  rule: z
    .enum(["UNSPECIFIED_RULE", ...APP_ALERT_RULES, ...COMPONENT_ALERT_RULES, ...FUNCTION_ALERT_RULES])
    .default("UNSPECIFIED_RULE"),
  disabled: z.boolean().optional(),
  operator: z.enum(["UNSPECIFIED_OPERATOR", "GREATER_THAN", "LESS_THAN"]).default("UNSPECIFIED_OPERATOR"),
  value: z.number().optional(),
  window: z
    .enum(["UNSPECIFIED_WINDOW", "FIVE_MINUTES", "TEN_MINUTES", "THIRTY_MINUTES", "ONE_HOUR"])
    .default("UNSPECIFIED_WINDOW"),
});

export const logDestinationSchema = z
  .strictObject({
    name: z
      .string()
      .regex(LOG_DESTINATION_NAME_PATTERN, "log destination name must be 2 to 42 letters, digits, spaces or ()[]'\"-_./"),
    papertrail: z.strictObject({ endpoint: str() }).optional(),
    datadog: z.strictObject({ endpoint: str().optional(), api_key: str() }).optional(),
    logtail: z.strictObject({ token: str() }).optional(),
    open_search: z
      .strictObject({
        endpoint: str().optional(),
        cluster_name: str().optional(),
        basic_auth: z.strictObject({ user: str().optional(), password: str().optional() }).optional(),
        index_name: str().default("logs"),
      })
      .optional(),
    endpoint: str().optional(),
    tls_insecure: z.boolean().optional(),
    headers: z.array(z.strictObject({ key: str(), value: str().optional() })).optional(),
  })
  .superRefine(checkLogDestination, always);

const instanceSizeSlug = z.enum(ALL_INSTANCE_SIZE_SLUGS);
const instanceFields = {
  instance_count: int(1, 250).optional(),
  instance_size_slug: instanceSizeSlug.default("apps-s-1vcpu-0.5gb"),
};

const cpuMetric = z.strictObject({ percent: int(1, 100).default(80) });
const workerAutoscalingSchema = z.strictObject({
  min_instance_count: int(1, 250),
  max_instance_count: int(1, 250),
  metrics: z.strictObject({ cpu: cpuMetric.optional() }).optional(),
});
const serviceAutoscalingSchema = z.strictObject({
  min_instance_count: int(1, 250),
  max_instance_count: int(1, 250),
  metrics: z
    .strictObject({
      cpu: cpuMetric.optional(),
      requests_per_second: z.strictObject({ per_instance: z.number().int().min(1) }).optional(),
      request_duration: z.strictObject({ p95_milliseconds: z.number().int().min(1) }).optional(),
    })
    .optional(),
});

const port = () => int(1, 65535);
const REDIRECT_CODES = [300, 301, 302, 303, 304, 307, 308];

/** The deprecated `path` still works when `http_path` is not set. */
function preferHttpPath<T extends { http_path?: string; path?: string }>(check: T): T {
  return check.http_path === undefined && check.path !== undefined ? { ...check, http_path: check.path } : check;
}

/** Readiness check: `http_path` unset means a TCP check. `port` defaults to the service's http_port (see below). */
export const healthCheckSchema = z.strictObject({
  http_path: str().optional(),
  path: str().optional(),
  port: port().optional(),
  initial_delay_seconds: int(0, 3600).default(0),
  period_seconds: int(1, 300).default(10),
  timeout_seconds: int(1, 120).default(1),
  success_threshold: int(1, 50).default(1),
  failure_threshold: int(1, 50).default(9),
}).transform(preferHttpPath);

export const livenessHealthCheckSchema = z.strictObject({
  http_path: str().optional(),
  path: str().optional(),
  port: port().optional(),
  initial_delay_seconds: int(0, 3600).default(5),
  period_seconds: int(1, 300).default(10),
  timeout_seconds: int(1, 120).default(1),
  success_threshold: int(1, 1).default(1),
  failure_threshold: int(1, 50).default(18),
}).transform(preferHttpPath);

const serviceTermination = z.strictObject({
  drain_seconds: int(1, 110).default(15),
  grace_period_seconds: int(1, 600).default(120),
});
const otherTermination = z.strictObject({ grace_period_seconds: int(1, 600).default(120) });

const componentCommon = {
  name: name("component name"),
  envs: z.array(envVarSchema).default([]),
  log_destinations: z.array(logDestinationSchema).optional(),
  alerts: z.array(alertSchema).optional(),
};

const runnableFields = {
  ...componentCommon,
  ...gitSources,
  image: imageSourceSchema.optional(),
  ...buildFields,
  run_command: str().optional(),
  ...instanceFields,
};

function withInstanceCount<T extends { instance_count?: number; autoscaling?: unknown }>(c: T): T & { instance_count?: number } {
  return c.instance_count === undefined && c.autoscaling === undefined ? { ...c, instance_count: 1 } : c;
}

export const serviceSchema = z
  .strictObject({
    ...runnableFields,
    http_port: port().optional(),
    protocol: z.enum(["HTTP", "HTTP2"]).default("HTTP"),
    internal_ports: z.array(port()).optional(),
    health_check: healthCheckSchema.optional(),
    liveness_health_check: livenessHealthCheckSchema.optional(),
    termination: serviceTermination.optional(),
    routes: z.array(routeSchema).optional(),
    cors: corsSchema.optional(),
    autoscaling: serviceAutoscalingSchema.optional(),
  })
  .superRefine(checkService, always)
  .transform((s) => {
    // App Platform's default port is 8080, except for internal-only services (internal_ports and no http_port).
    const http_port = s.http_port ?? (s.internal_ports?.length ? undefined : 8080);
    const checkPort = http_port ?? s.internal_ports?.[0];
    const health_check =
      s.health_check ?? (checkPort === undefined ? undefined : healthCheckSchema.parse({ port: checkPort }));
    return withInstanceCount({
      ...s,
      http_port,
      health_check: health_check && { ...health_check, port: health_check.port ?? checkPort },
      termination: s.termination ?? serviceTermination.parse({}),
    });
  });

export const workerSchema = z
  .strictObject({
    ...runnableFields,
    liveness_health_check: livenessHealthCheckSchema.optional(),
    termination: otherTermination.optional(),
    autoscaling: workerAutoscalingSchema.optional(),
  })
  .superRefine(checkWorker, always)
  .transform((w) => withInstanceCount({ ...w, termination: w.termination ?? otherTermination.parse({}) }));

export const jobSchema = z
  .strictObject({
    ...runnableFields,
    kind: z.enum(["UNSPECIFIED", "PRE_DEPLOY", "POST_DEPLOY", "FAILED_DEPLOY", "SCHEDULED"]).default("UNSPECIFIED"),
    schedule: z.strictObject({ cron: str(), time_zone: str().optional() }).optional(),
    termination: otherTermination.optional(),
  })
  .superRefine(checkJob, always)
  .transform((j) => ({ ...j, instance_count: j.instance_count ?? 1, termination: j.termination ?? otherTermination.parse({}) }));

export const staticSiteSchema = z
  .strictObject({
    name: componentCommon.name,
    envs: componentCommon.envs,
    log_destinations: componentCommon.log_destinations,
    ...gitSources,
    ...buildFields,
    output_dir: str().optional(),
    index_document: str().default("index.html"),
    error_document: str().optional(),
    catchall_document: str().optional(),
    routes: z.array(routeSchema).optional(),
    cors: corsSchema.optional(),
  })
  .superRefine(checkStaticSite, always)
  .transform((s) => (s.catchall_document === undefined ? { ...s, error_document: s.error_document ?? "404.html" } : s));

export const functionSchema = z
  .strictObject({
    ...componentCommon,
    ...gitSources,
    source_dir: str().optional(),
    routes: z.array(routeSchema).optional(),
    cors: corsSchema.optional(),
  })
  .superRefine(checkFunction, always);

export const databaseSchema = z
  .strictObject({
    name: name("database name"),
    engine: z.enum(["UNSET", "MYSQL", "PG", "REDIS", "MONGODB", "KAFKA", "OPENSEARCH", "VALKEY"]).default("UNSET"),
    version: str().optional(),
    production: z.boolean().optional(),
    cluster_name: str().optional(),
    db_name: str().optional(),
    db_user: str().optional(),
    size: str().optional(),
    num_nodes: z.number().int().min(1).optional(),
  })
  .superRefine(checkDatabase, always);

export const domainSchema = z.strictObject({
  domain: z
    .string()
    .min(4, "domain must be 4 to 253 characters")
    .max(253, "domain must be 4 to 253 characters")
    .regex(DOMAIN_PATTERN, "domain must be a DNS name such as app.example.com"),
  type: z.enum(["UNSPECIFIED", "DEFAULT", "PRIMARY", "ALIAS"]).default("UNSPECIFIED"),
  wildcard: z.boolean().optional(),
  zone: str().optional(),
  minimum_tls_version: z.enum(["1.2", "1.3"]).optional(),
  certificate: str().optional(),
});

const ingressRuleSchema = z
  .strictObject({
    match: z
      .strictObject({
        path: z.strictObject({ prefix: maxLen(256).optional(), exact: maxLen(256).optional() }).optional(),
        authority: z.strictObject({ exact: maxLen(256).optional(), prefix: maxLen(256).optional() }).optional(),
      })
      .optional(),
    component: z
      .strictObject({
        name: str(),
        // The OpenAPI model types this as the string "true"; the Go client and docs as a boolean. Accept both.
        preserve_path_prefix: z
          .union([z.boolean(), z.enum(["true", "false"])], { error: "expected true or false" })
          .transform((v) => v === true || v === "true")
          .optional(),
        rewrite: str().optional(),
      })
      .optional(),
    redirect: z
      .strictObject({
        uri: str().optional(),
        authority: str().optional(),
        port: port().optional(),
        scheme: z.enum(["http", "https"]).default("https"),
        redirect_code: z
          .number()
          .superRefine((c, ctx) => {
            if (!REDIRECT_CODES.includes(c)) {
              ctx.addIssue({ code: "custom", message: `redirect_code must be one of ${REDIRECT_CODES.join(", ")}, found ${c}` });
            }
          })
          .default(302),
      })
      .optional(),
    cors: corsSchema.optional(),
  })
  .superRefine(checkIngressRule, always);

export const ingressSchema = z.strictObject({
  rules: z.array(ingressRuleSchema).default([]),
  custom_error_page_url: z.string().startsWith("https://", "custom_error_page_url must be an https:// URL").optional(),
  load_balancer: z.enum(["UNKNOWN", "DIGITALOCEAN"]).optional(),
  load_balancer_size: z.number().int().min(0).optional(),
});

export const appSpecSchema = z
  .strictObject({
    name: name("app name"),
    region: z
      .string()
      .superRefine((r, ctx) => {
        if (!(REGIONS as readonly string[]).includes(r) && !DATACENTER_PATTERN.test(r)) {
          ctx.addIssue({ code: "custom", message: `region must be one of ${REGIONS.join(", ")}, found "${r}"` });
        }
      })
      .optional(),
    domains: z.array(domainSchema).max(500).default([]),
    services: z.array(serviceSchema).default([]),
    static_sites: z.array(staticSiteSchema).default([]),
    workers: z.array(workerSchema).default([]),
    jobs: z.array(jobSchema).default([]),
    functions: z.array(functionSchema).default([]),
    databases: z.array(databaseSchema).default([]),
    envs: z.array(envVarSchema).default([]),
    alerts: z.array(alertSchema).default([]),
    ingress: ingressSchema.optional(),
    egress: z.strictObject({ type: z.enum(["AUTOASSIGN", "DEDICATED_IP"]).default("AUTOASSIGN") }).default({ type: "AUTOASSIGN" }),
    features: z.array(str()).default([]),
    maintenance: z
      .strictObject({ enabled: z.boolean().default(false), archive: z.boolean().default(false), offline_page_url: str().optional() })
      // Archiving an app takes it offline, so archive implies enabled.
      .transform((m) => (m.archive ? { ...m, enabled: true } : m))
      .optional(),
    disable_edge_cache: z.boolean().default(false),
    disable_email_obfuscation: z.boolean().default(false),
    enhanced_threat_control_enabled: z.boolean().default(false),
    vpc: z
      .strictObject({
        id: z.string().regex(UUID_PATTERN, "vpc.id must be a UUID"),
        egress_ips: z.array(z.strictObject({ ip: str().optional() })).optional(),
      })
      .optional(),
  })
  .superRefine(checkApp, always);

export type AppSpec = z.output<typeof appSpecSchema>;
export type ServiceSpec = z.output<typeof serviceSchema>;
export type WorkerSpec = z.output<typeof workerSchema>;
export type JobSpec = z.output<typeof jobSchema>;
export type StaticSiteSpec = z.output<typeof staticSiteSchema>;
export type EnvVar = z.output<typeof envVarSchema>;
