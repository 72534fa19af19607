// Every request and response of /api/v1 as zod schemas: the handler validates with them and the OpenAPI
// document (openapi.ts) is generated from them, so the two never disagree.
import { z } from "zod";
import { PHASES } from "../core/phases.js";

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

const Time = z.iso.datetime();
const Owner = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, "an owner or repository name (letters, digits, . _ -)");

export const AppParams = z.object({ owner: Owner, repo: Owner });
export const DeploymentParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, "a deployment id") });
export const TokenParams = z.object({ id: z.string().min(1).max(100) });
export const SecretParams = AppParams.extend({
  key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, "an environment variable name (letters, digits, _; not starting with a digit)"),
});

export const Environment = z
  .string()
  .regex(/^(production|pr-[1-9][0-9]{0,9})$/, "production, or pr-N for the preview of pull request N")
  .default("production");
export const AppQuery = z.object({ environment: Environment });
export const DeploymentsQuery = AppQuery.extend({ limit: z.coerce.number().int().min(1).max(200).default(20) });
export const SecretsQuery = z.object({
  environment: z.enum(["production", "previews"]).default("production").describe("production, or previews (every pull-request preview)"),
});
export const LogsQuery = z.object({
  afterId: z.coerce.number().int().min(0).optional().describe("return chunks after this id (the last one you read)"),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  step: z.string().max(200).optional(),
});

export const AppKeyView = z.object({ installationId: z.number(), repository: z.string(), environment: z.string() });

export const StepView = z.object({
  name: z.string(),
  component: z.string().optional(),
  status: z.enum(["PENDING", "RUNNING", "SUCCESS", "ERROR", "CANCELED", "SKIPPED"]),
  startedAt: Time.optional(),
  endedAt: Time.optional(),
  message: z.string().optional(),
});

export const DeploymentView = z.object({
  id: z.string(),
  app: AppKeyView,
  sha: z.string(),
  branch: z.string(),
  phase: z.enum(PHASES),
  cause: z.object({ type: z.string() }).catchall(z.unknown()).describe("why the deployment exists: push, manual, force_rebuild, rollback, restart, pull_request, catch_up, upload"),
  message: z.string().optional(),
  error: z.object({ code: z.string(), step: z.string().optional(), component: z.string().optional() }).optional(),
  url: z.string().optional(),
  untrusted: z.boolean(),
  createdAt: Time,
  updatedAt: Time,
  steps: z.array(StepView),
});

export const ComponentView = z.object({
  name: z.string(),
  kind: z.enum(["service", "worker", "job", "static_site", "function"]),
});

export const AppView = z.object({
  id: z.string(),
  app: AppKeyView,
  branch: z.string(),
  name: z.string().optional().describe("the spec's name: of the app it last deployed"),
  url: z.string().optional().describe("where the active deployment answers"),
  untrusted: z.boolean(),
  createdAt: Time,
  components: z.array(ComponentView).describe("of the active deployment's spec"),
  activeDeployment: DeploymentView.optional(),
});

export const AppList = z.object({ apps: z.array(AppView.omit({ activeDeployment: true, components: true }).extend({ activeDeploymentId: z.string().optional() })) });
export const AppOne = z.object({ app: AppView });
export const DeploymentList = z.object({ deployments: z.array(DeploymentView) });
export const DeploymentOne = z.object({ deployment: DeploymentView });

export const LogChunkView = z.object({ id: z.number(), step: z.string(), text: z.string(), createdAt: Time });
export const LogPage = z.object({
  chunks: z.array(LogChunkView),
  nextAfterId: z.number().optional().describe("pass as afterId to read on; absent when nothing was returned"),
  final: z.boolean().describe("the deployment is in a final phase (its log will not grow)"),
});

export const CreateDeploymentBody = z
  .object({
    forceRebuild: z.boolean().default(false).describe("rebuild every component, even those whose image could be reused"),
    sha: z.string().regex(/^[0-9a-f]{7,64}$/).optional().describe("the commit to deploy; default: the branch head if Berth can ask, else the newest deployed commit"),
  })
  .strict();
export const RestartBody = z.object({ components: z.array(z.string().min(1).max(100)).min(1).optional() }).strict();
export const RollbackBody = z.object({ deploymentId: z.string().min(1).max(100) }).strict();
export const Accepted = z.object({ deployment: DeploymentView.optional(), accepted: z.boolean() });

export const SecretEntryView = z.object({ key: z.string(), updatedAt: Time });
export const SecretList = z.object({ environment: z.enum(["production", "previews"]), secrets: z.array(SecretEntryView) });
export const SetSecretBody = z
  .object({
    value: z.string().max(65_536).describe("write-only: never returned by any endpoint"),
    restart: z.boolean().default(false).describe("restart the app's running components so they read the new value"),
  })
  .strict();
export const SecretSet = z.object({ secret: SecretEntryView, restartDeploymentIds: z.array(z.string()) });
export const SecretUnset = z.object({ removed: z.boolean() });

export const TokenView = z.object({ id: z.string(), name: z.string(), createdAt: Time, lastUsedAt: Time.optional(), revokedAt: Time.optional() });
export const TokenList = z.object({ tokens: z.array(TokenView) });
export const CreateTokenBody = z.object({ name: z.string().min(1).max(100) }).strict();
export const TokenCreated = z.object({ token: TokenView.extend({ secret: z.string().describe("the token itself: shown once, stored only as a digest") }) });
export const TokenRevoked = z.object({ revoked: z.boolean() });

