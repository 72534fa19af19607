// `berth up [DIR]`: pack DIR (with its .do/app.yaml) as a tar.gz, upload it as the app the spec names, follow
// the deploy (one line a phase) and print the URL it answers at. Exits 0 only when it is live.
import { join } from "node:path";
import * as tar from "tar";
import type { z } from "zod";
import type * as S from "../api/schemas.js";
import { formatProblem, parseAppSpec } from "../app-spec/index.js";
import { CliError } from "./api-client.js";
import { apiCommand } from "./api-command.js";
import { waitFor } from "./app-commands.js";
import { EXIT, type CliIo } from "./command.js";

const SKIPPED = new Set(["node_modules", ".git"]);

async function specName(dir: string, io: CliIo): Promise<string> {
  const path = join(dir, ".do/app.yaml");
  let text: string;
  try {
    text = await io.readFile(path);
  } catch {
    throw new CliError(`${path} cannot be read: berth up deploys a directory with its app spec in .do/app.yaml`, EXIT.failure);
  }
  const { spec, problems } = parseAppSpec(text, {});
  if (!spec) throw new CliError(`${path} is invalid:\n${problems.map((p) => formatProblem(p, path)).join("\n")}`, EXIT.problems);
  return spec.name;
}

async function pack(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: dir, portable: true, filter: (path) => !path.split("/").some((part) => SKIPPED.has(part)) }, ["."]);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export const up = apiCommand({
  summary: "upload DIR with its .do/app.yaml, follow the deploy and print the URL it answers at",
  usage: "berth up [DIR] [--json]   (DIR defaults to .; node_modules and .git are left out)",
  positionals: ["DIR"],
  optional: 1,
  async run(ctx) {
    const dir = ctx.positionals[0] ?? ".";
    const name = await specName(dir, ctx.io);
    const archive = await pack(dir);
    if (!ctx.json) ctx.io.stderr(`uploading ${dir} as ${name} (${Math.ceil(archive.length / 1024)} KiB)\n`);
    const answer = await ctx.client.upload<z.output<typeof S.Accepted>>(`/uploads/${encodeURIComponent(name)}`, archive, "application/gzip");
    if (!answer.deployment) throw new CliError("Berth took the upload but started no deployment", EXIT.unavailable);
    const final = await waitFor(ctx.client, answer.deployment.id, ctx);
    ctx.print({ deployment: final }, () => (final.phase === "ACTIVE" ? `${final.url ?? "live (no URL)"}\n` : `${final.phase}: ${final.message ?? ""}\n`));
    return final.phase === "ACTIVE" ? EXIT.ok : EXIT.problems;
  },
});
