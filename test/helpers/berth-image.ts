// Berth's own container image for tests: the one .ci/run built (`BERTH_TEST_IMAGE`), else built here by
// .ci/build-image (a few seconds when its inputs did not change, since the script keys the image on them).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BUILD_SCRIPT = fileURLToPath(new URL("../../.ci/build-image", import.meta.url));

let result: { image: string } | { reason: string } | undefined;

/** The image reference, or why there is none (printed; in CI a failure, since .ci/run builds it). */
export function berthImage(): { image: string } | { reason: string } {
  if (result) return result;
  const given = process.env.BERTH_TEST_IMAGE;
  if (given) return (result = { image: given });
  try {
    const out = execFileSync(BUILD_SCRIPT, { stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 }).toString().trim();
    result = { image: out.split("\n").at(-1)! };
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(-5).join("\n");
    const reason = `Berth's image could not be built by .ci/build-image: ${stderr || (err as Error).message}`;
    if (process.env.CI === "true") throw new Error(reason);
    console.warn(`skipping container tests: ${reason}`);
    result = { reason };
  }
  return result;
}
