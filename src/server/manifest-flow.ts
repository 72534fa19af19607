// Before Berth is registered as a GitHub App: serve Probot's manifest flow from app.yml and say where to go.
import type { Logger } from "pino";
import { run } from "probot";
import type { Config } from "../config.js";

export async function serveManifestFlow(config: Config, log: Logger): Promise<void> {
  if (process.env.NODE_ENV === "production") {
    // Probot refuses this too: whoever reached the page could register their own app in Berth's place.
    console.error(
      "Berth is not registered as a GitHub App: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET.\n" +
        "To register it, run Berth once without NODE_ENV=production and open the page it prints (see docs/github-app.md).",
    );
    process.exit(1);
  }
  // Probot would otherwise fetch smee-client from npm and open a channel on smee.io; Berth does without
  // (its catch-up polling works with no webhooks at all), unless the operator asks for it.
  process.env.NO_SMEE_SETUP ??= "true";
  const server = await run(() => {}, { env: process.env });
  const host = config.host && config.host !== "0.0.0.0" ? config.host : "localhost";
  const url = `http://${host}:${server.port}/probot`;
  log.info(
    { url },
    `Berth is not registered as a GitHub App yet. Open ${url} in a browser to register it from app.yml ` +
      `(on ${config.githubWebUrl}); the credentials are written to .env. Then restart Berth.`,
  );
  // Plain stdout as well: this is the one line a first-time user must see, whatever the log level.
  console.log(`\nRegister Berth as a GitHub App: open ${url}\n`);
}
