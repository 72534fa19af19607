// `berth apps list|get`, `berth deployments list`, `berth deploy|restart|rollback|cancel`, `berth logs`.
import type { z } from "zod";
import type * as S from "../api/schemas.js";
import type { ApiClient } from "./api-client.js";
import { CliError } from "./api-client.js";
import { apiCommand, appTarget, ENVIRONMENT_OPTIONS, table, type ApiCommandContext } from "./api-command.js";
import { EXIT, type Command } from "./command.js";

type Deployment = z.output<typeof S.DeploymentView>;
type Accepted = z.output<typeof S.Accepted>;
type LogChunk = z.output<typeof S.LogChunkView>;

const short = (sha: string) => sha.slice(0, 7);
const ENV_USAGE = "[--environment production|pr-N | --preview N]";

function describeDeployment(d: Deployment): string {
  const lines = [`deployment ${d.id}  ${d.phase}  ${short(d.sha)} on ${d.branch}  (${d.cause.type})`];
  if (d.message) lines.push(`  ${d.message}`);
  if (d.url) lines.push(`  live at ${d.url}`);
  for (const s of d.steps) lines.push(`  ${s.status.padEnd(8)} ${s.name}${s.message ? `: ${s.message}` : ""}`);
  return `${lines.join("\n")}\n`;
}

/** Follows the deployment's event stream until it is final; phase changes go to stderr unless --json. */
export async function waitFor(client: ApiClient, id: string, ctx: ApiCommandContext, onLog?: (c: LogChunk) => void): Promise<Deployment> {
  for await (const { event, data } of client.events(`/deployments/${encodeURIComponent(id)}/logs/stream`)) {
    if (event === "log") onLog?.(data as LogChunk);
    if (event === "phase" && !ctx.json && !onLog) ctx.io.stderr(`${(data as { phase: string }).phase}\n`);
    if (event === "end") break;
  }
  return (await client.call<{ deployment: Deployment }>("GET", `/deployments/${encodeURIComponent(id)}`)).deployment;
}

/** After an action: print what started; with --wait follow it and exit 0 only when it went ACTIVE. */
async function started(ctx: ApiCommandContext, answer: Accepted, what: string): Promise<number> {
  const d = answer.deployment;
  if (!d) {
    ctx.print(answer, () => `${what}: Berth already had this request\n`);
    return EXIT.ok;
  }
  if (ctx.values.wait !== true) {
    ctx.print(answer, () => `${what}: deployment ${d.id} (${d.phase})\n`);
    return EXIT.ok;
  }
  if (!ctx.json) ctx.io.stderr(`${what}: deployment ${d.id}\n`);
  const final = await waitFor(ctx.client, d.id, ctx);
  ctx.print({ deployment: final }, () => describeDeployment(final));
  return final.phase === "ACTIVE" ? EXIT.ok : EXIT.problems;
}

const appsList = apiCommand({
  summary: "list the apps Berth manages",
  usage: "berth apps list [--json]",
  positionals: [],
  async run(ctx) {
    const { apps } = await ctx.client.call<z.output<typeof S.AppList>>("GET", "/apps");
    ctx.print({ apps }, () => table([["APP", "ENVIRONMENT", "NAME", "ACTIVE DEPLOYMENT"], ...apps.map((a) => [a.app.repository, a.app.environment, a.name ?? "", a.activeDeploymentId ?? "-"])]));
    return EXIT.ok;
  },
});

const appsGet = apiCommand({
  summary: "show an app: live URL, components, current deployment",
  usage: `berth apps get APP ${ENV_USAGE} [--json]`,
  positionals: ["APP"],
  options: ENVIRONMENT_OPTIONS,
  async run(ctx) {
    const t = appTarget(ctx.positionals[0]!, ctx.values);
    const { app } = await ctx.client.call<z.output<typeof S.AppOne>>("GET", `${t.path}?${t.query}`);
    ctx.print({ app }, () => {
      const lines = [`${t.label}${app.name ? `  ${app.name}` : ""}`, `  url: ${app.url ?? "(not live)"}`, `  branch: ${app.branch}`];
      lines.push(`  components: ${app.components.map((c) => `${c.name} (${c.kind})`).join(", ") || "-"}`);
      return `${lines.join("\n")}\n${app.activeDeployment ? describeDeployment(app.activeDeployment) : "  no active deployment\n"}`;
    });
    return EXIT.ok;
  },
});

const deploymentsList = apiCommand({
  summary: "list an app's deployments, newest first",
  usage: `berth deployments list APP ${ENV_USAGE} [--limit N] [--json]`,
  positionals: ["APP"],
  options: { ...ENVIRONMENT_OPTIONS, limit: { type: "string" } },
  async run(ctx) {
    const t = appTarget(ctx.positionals[0]!, ctx.values);
    const limit = ctx.values.limit ? `&limit=${encodeURIComponent(String(ctx.values.limit))}` : "";
    const { deployments } = await ctx.client.call<z.output<typeof S.DeploymentList>>("GET", `${t.path}/deployments?${t.query}${limit}`);
    ctx.print({ deployments }, () =>
      table([["ID", "PHASE", "SHA", "CAUSE", "CREATED"], ...deployments.map((d) => [d.id, d.phase, short(d.sha), d.cause.type, d.createdAt])]),
    );
    return EXIT.ok;
  },
});

const deploy = apiCommand({
  summary: "deploy the app again (its branch head, or --sha), optionally rebuilding every image",
  usage: `berth deploy APP ${ENV_USAGE} [--sha SHA] [--force-rebuild] [--wait] [--json]`,
  positionals: ["APP"],
  options: { ...ENVIRONMENT_OPTIONS, sha: { type: "string" }, "force-rebuild": { type: "boolean" }, wait: { type: "boolean" } },
  async run(ctx) {
    const t = appTarget(ctx.positionals[0]!, ctx.values);
    const body = { forceRebuild: ctx.values["force-rebuild"] === true, ...(ctx.values.sha ? { sha: String(ctx.values.sha) } : {}) };
    return started(ctx, await ctx.client.call<Accepted>("POST", `${t.path}/deployments?${t.query}`, body), `deploying ${t.label}`);
  },
});

const restart = apiCommand({
  summary: "restart the app's services and workers (or the named components) on their current images",
  usage: `berth restart APP ${ENV_USAGE} [--components a,b] [--wait] [--json]`,
  positionals: ["APP"],
  options: { ...ENVIRONMENT_OPTIONS, components: { type: "string" }, wait: { type: "boolean" } },
  async run(ctx) {
    const t = appTarget(ctx.positionals[0]!, ctx.values);
    const components = ctx.values.components ? String(ctx.values.components).split(",").map((c) => c.trim()).filter(Boolean) : undefined;
    return started(ctx, await ctx.client.call<Accepted>("POST", `${t.path}/restart?${t.query}`, components ? { components } : {}), `restarting ${t.label}`);
  },
});

const rollback = apiCommand({
  summary: "roll the app back to an earlier deployment",
  usage: `berth rollback APP DEPLOYMENT ${ENV_USAGE} [--wait] [--json]`,
  positionals: ["APP", "DEPLOYMENT"],
  options: { ...ENVIRONMENT_OPTIONS, wait: { type: "boolean" } },
  async run(ctx) {
    const t = appTarget(ctx.positionals[0]!, ctx.values);
    const answer = await ctx.client.call<Accepted>("POST", `${t.path}/rollback?${t.query}`, { deploymentId: ctx.positionals[1] });
    return started(ctx, answer, `rolling ${t.label} back to ${ctx.positionals[1]}`);
  },
});

const cancel = apiCommand({
  summary: "cancel a deployment that has not finished",
  usage: "berth cancel DEPLOYMENT [--json]",
  positionals: ["DEPLOYMENT"],
  async run(ctx) {
    const answer = await ctx.client.call<Accepted>("POST", `/deployments/${encodeURIComponent(ctx.positionals[0]!)}/cancel`);
    ctx.print(answer, () => `canceling deployment ${ctx.positionals[0]} (${answer.deployment?.phase ?? "?"})\n`);
    return EXIT.ok;
  },
});

const logs = apiCommand({
  summary: "print a deployment's build and deploy log (the newest deployment's without --deployment)",
  usage: `berth logs APP [--deployment ID] ${ENV_USAGE} [--follow] [--json]`,
  positionals: ["APP"],
  options: { ...ENVIRONMENT_OPTIONS, deployment: { type: "string" }, follow: { type: "boolean", short: "f" } },
  async run(ctx) {
    const t = appTarget(ctx.positionals[0]!, ctx.values);
    let id = ctx.values.deployment as string | undefined;
    if (!id) {
      const { deployments } = await ctx.client.call<z.output<typeof S.DeploymentList>>("GET", `${t.path}/deployments?${t.query}&limit=1`);
      id = deployments[0]?.id;
      if (!id) throw new CliError(`${t.label} has no deployments`, EXIT.notFound);
    }
    const show = (c: LogChunk) => ctx.io.stdout(ctx.json ? `${JSON.stringify(c)}\n` : `[${c.step}] ${c.text}${c.text.endsWith("\n") ? "" : "\n"}`);
    if (ctx.values.follow === true) {
      const final = await waitFor(ctx.client, id, ctx, show);
      return final.phase === "ACTIVE" ? EXIT.ok : EXIT.problems;
    }
    let afterId: number | undefined;
    for (;;) {
      const page = await ctx.client.call<z.output<typeof S.LogPage>>("GET", `/deployments/${encodeURIComponent(id)}/logs${afterId === undefined ? "" : `?afterId=${afterId}`}`);
      for (const c of page.chunks) show(c);
      if (page.nextAfterId === undefined) return EXIT.ok;
      afterId = page.nextAfterId;
    }
  },
});

export const appCommands: Record<string, Command> = { list: appsList, get: appsGet };
export const deploymentCommands: Record<string, Command> = { list: deploymentsList };
export const actionCommands: Record<string, Command> = { deploy, restart, rollback, cancel, logs };
