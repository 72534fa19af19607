// Which external services this test run has. Tests that need one skip with a printed reason when it is
// absent; in CI (`CI=true`) absence is a failure, because .ci/run is meant to have started it.
import { execFileSync } from "node:child_process";

function unavailable(what: string, reason: string): string {
  const message = `${what} unavailable (${reason})`;
  if (process.env.CI === "true") throw new Error(`${message}; .ci/run should have started it`);
  console.warn(`skipping ${what} tests: ${message}`);
  return message;
}

let dockerReason: string | null | undefined;
/** null when a Docker engine answers, else why not (and the reason was printed). */
export function dockerUnavailable(): string | null {
  if (dockerReason !== undefined) return dockerReason;
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 10_000 });
    dockerReason = null;
  } catch (err) {
    dockerReason = unavailable("Docker", (err as Error).message.split("\n")[0] ?? "docker info failed");
  }
  return dockerReason;
}

/** The PostgreSQL URL for tests (`BERTH_TEST_DATABASE_URL`, set by .ci/run), or null with a printed reason. */
export function postgresUrl(): string | null {
  const url = process.env.BERTH_TEST_DATABASE_URL;
  if (url) return url;
  unavailable("PostgreSQL", "BERTH_TEST_DATABASE_URL is not set");
  return null;
}
