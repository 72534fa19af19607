// Before Berth is registered as a GitHub App: serve the registration pages (setup-pages.ts) and health on
// Probot's server, and say where to go.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { Probot, Server } from "probot";
import { parse } from "yaml";
import type { Config } from "../config.js";
import { updateEnvFile } from "./env-file.js";
import { createSetupHealthHandler } from "./health.js";
import { createSetupPages } from "./setup-pages.js";

export interface ManifestFlowOptions {
  cwd: string;
  /** GH_ORG: register the app on this organization instead of the user's account. */
  org?: string;
  fetch?: typeof fetch;
}

export async function serveManifestFlow(config: Config, log: Logger, options: ManifestFlowOptions): Promise<Server> {
  if (process.env.NODE_ENV === "production") {
    // Probot refuses this too: whoever reached the page could register their own app in Berth's place.
    console.error(
      "Berth is not registered as a GitHub App: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET.\n" +
        "To register it, run Berth once without NODE_ENV=production and open the page it prints (see docs/github-app.md).",
    );
    process.exit(1);
  }
  const appYmlPath = join(options.cwd, "app.yml");
  const appYml = existsSync(appYmlPath) ? ((parse(readFileSync(appYmlPath, "utf8")) ?? {}) as Record<string, unknown>) : {};
  // Probot's setup needs a key it never uses: the server only serves the pages below (Probot's issue #1512).
  const server = new Server({
    Probot: Probot.defaults({ appId: 1, privateKey: "unused in setup mode", log }),
    host: config.host,
    port: config.port,
    log,
  });
  const host = config.host && config.host !== "0.0.0.0" && config.host !== "::" ? config.host : "localhost";
  let url = `http://${host}:${config.port}/probot`;
  await server.load(async (_app, { addHandler }) => {
    addHandler(createSetupHealthHandler("/probot"));
    addHandler(
      createSetupPages({
        appYml,
        berthUrl: config.berthUrl,
        webhookProxyUrl: config.webhookProxyUrl,
        githubWebUrl: config.githubWebUrl,
        githubApiUrl: config.githubApiUrl,
        org: options.org,
        fetch: options.fetch,
        saveEnv: (values) => {
          updateEnvFile(join(options.cwd, ".env"), values);
          log.info({ keys: Object.keys(values) }, "written to .env; restart Berth once the app is registered");
        },
      }),
    );
  });
  await server.start();
  url = `http://${host}:${server.port}/probot`;
  log.info({ url }, `Berth is not registered as a GitHub App yet. Open ${url} to register it (on ${config.githubWebUrl}); the credentials are written to .env. Then restart Berth.`);
  // Plain stdout as well: this is the one line a first-time user must see, whatever the log level.
  console.log(`\nRegister Berth as a GitHub App: open ${url}\n`);
  return server;
}
