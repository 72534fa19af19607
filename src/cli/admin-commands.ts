// `berth secrets set|list|unset` (a value comes from standard input or a hidden prompt, never from the command
// line, where `ps` and shell history would keep it) and `berth tokens create|list|revoke`.
import type { z } from "zod";
import type * as S from "../api/schemas.js";
import { CliError } from "./api-client.js";
import { apiCommand, appTarget, table } from "./api-command.js";
import { EXIT, type CliIo, type Command } from "./command.js";

const SECRET_OPTIONS = { previews: { type: "boolean" as const } };
const scope = (values: Record<string, unknown>) => (values.previews === true ? "previews" : "production");

async function readSecretValue(io: CliIo, key: string): Promise<string> {
  let value: string;
  if (io.stdinIsTTY && io.promptHidden) value = await io.promptHidden(`Value for ${key} (not shown): `);
  else if (io.readStdin) value = (await io.readStdin()).replace(/\r?\n$/, "");
  else throw new CliError("no value: pipe it on standard input (berth secrets set APP KEY < file)", EXIT.failure);
  if (value === "") throw new CliError(`the value of ${key} is empty; pipe it on standard input or type it at the prompt`, EXIT.failure);
  return value;
}

function secretPath(app: string, key: string | undefined, values: Record<string, unknown>): string {
  const t = appTarget(app, {});
  return `${t.path}/secrets${key === undefined ? "" : `/${encodeURIComponent(key)}`}?environment=${scope(values)}`;
}

const secretsSet = apiCommand({
  summary: "set a secret from standard input or a hidden prompt (production's, or every preview's with --previews)",
  usage: "berth secrets set APP KEY [--previews] [--restart] [--json]   (value on stdin, never as an argument)",
  positionals: ["APP", "KEY"],
  options: { ...SECRET_OPTIONS, restart: { type: "boolean" } },
  async run(ctx) {
    const [app, key] = ctx.positionals as [string, string];
    const value = await readSecretValue(ctx.io, key);
    const answer = await ctx.client.call<z.output<typeof S.SecretSet>>("PUT", secretPath(app, key, ctx.values), { value, restart: ctx.values.restart === true });
    ctx.print(answer, () => {
      const restarted = answer.restartDeploymentIds.length ? `; restarting: ${answer.restartDeploymentIds.join(", ")}` : "";
      return `set ${key} for ${app} (${scope(ctx.values)})${restarted}\n`;
    });
    return EXIT.ok;
  },
});

const secretsList = apiCommand({
  summary: "list a repository's secrets: names and update times, never values",
  usage: "berth secrets list APP [--previews] [--json]",
  positionals: ["APP"],
  options: SECRET_OPTIONS,
  async run(ctx) {
    const answer = await ctx.client.call<z.output<typeof S.SecretList>>("GET", secretPath(ctx.positionals[0]!, undefined, ctx.values));
    ctx.print(answer, () => table([["KEY", "UPDATED"], ...answer.secrets.map((s) => [s.key, s.updatedAt])]));
    return EXIT.ok;
  },
});

const secretsUnset = apiCommand({
  summary: "remove a secret",
  usage: "berth secrets unset APP KEY [--previews] [--json]",
  positionals: ["APP", "KEY"],
  options: SECRET_OPTIONS,
  async run(ctx) {
    const [app, key] = ctx.positionals as [string, string];
    const answer = await ctx.client.call("DELETE", secretPath(app, key, ctx.values));
    ctx.print(answer, () => `removed ${key} from ${app} (${scope(ctx.values)})\n`);
    return EXIT.ok;
  },
});

const tokensCreate = apiCommand({
  summary: "issue an API token (printed once; Berth keeps only its digest)",
  usage: "berth tokens create NAME [--json]",
  positionals: ["NAME"],
  async run(ctx) {
    const answer = await ctx.client.call<z.output<typeof S.TokenCreated>>("POST", "/tokens", { name: ctx.positionals[0] });
    ctx.print(answer, () => `${answer.token.secret}\n`);
    if (!ctx.json) ctx.io.stderr(`token ${answer.token.id} (${answer.token.name}): keep it now, Berth cannot show it again\n`);
    return EXIT.ok;
  },
});

const tokensList = apiCommand({
  summary: "list the API tokens issued (never their text)",
  usage: "berth tokens list [--json]",
  positionals: [],
  async run(ctx) {
    const answer = await ctx.client.call<z.output<typeof S.TokenList>>("GET", "/tokens");
    ctx.print(answer, () =>
      table([["ID", "NAME", "CREATED", "LAST USED", "REVOKED"], ...answer.tokens.map((t) => [t.id, t.name, t.createdAt, t.lastUsedAt ?? "-", t.revokedAt ?? "-"])]),
    );
    return EXIT.ok;
  },
});

const tokensRevoke = apiCommand({
  summary: "revoke an API token: it stops working at once",
  usage: "berth tokens revoke ID [--json]",
  positionals: ["ID"],
  async run(ctx) {
    const answer = await ctx.client.call("DELETE", `/tokens/${encodeURIComponent(ctx.positionals[0]!)}`);
    ctx.print(answer, () => `revoked ${ctx.positionals[0]}\n`);
    return EXIT.ok;
  },
});

export const secretCommands: Record<string, Command> = { set: secretsSet, list: secretsList, unset: secretsUnset };
export const tokenCommands: Record<string, Command> = { create: tokensCreate, list: tokensList, revoke: tokensRevoke };
