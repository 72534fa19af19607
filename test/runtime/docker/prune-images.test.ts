import { execFileSync } from "node:child_process";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneImages } from "../../../src/runtime/docker/prune-images.js";
import { LABEL } from "../../../src/runtime/docker/labels.js";
import { ensureTestImages, removeLabelled, TEST_LABEL } from "../../helpers/docker-images.js";
import { dockerUnavailable } from "../../helpers/services.js";

describe.skipIf(dockerUnavailable())("pruneImages on the real engine", () => {
  const run = `${TEST_LABEL}.run=prune-${process.pid}`;
  const docker = new Dockerode();
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const app = `app-${process.pid}`;

  function image(tag: string, labels: Record<string, string>): void {
    const { busybox } = ensureTestImages();
    const line = Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(" ");
    execFileSync("docker", ["build", "-q", "-t", tag, "-"], { input: `FROM ${busybox}\nLABEL ${line}\n`, stdio: ["pipe", "pipe", "pipe"] });
  }
  const tags = (images: Dockerode.ImageInfo[]) => images.flatMap((i) => i.RepoTags ?? []).sort();

  beforeAll(() => {
    const [key, value] = run.split("=") as [string, string];
    for (const [d, appId, own] of [["d1", app, true], ["d2", app, true], ["d3", "other", true], ["d4", app, false]] as const) {
      image(`berth/${d === "d3" ? "other" : app}/web:${d}`, {
        [LABEL.managed]: "true",
        [LABEL.app]: appId,
        [LABEL.deployment]: d,
        // d4 belongs to another Berth on the same engine: not this one's `own` labels.
        [own ? key : `${TEST_LABEL}.other`]: value,
      });
    }
  }, 120_000);
  afterAll(() => {
    removeLabelled(run);
    removeLabelled(`${TEST_LABEL}.other=${run.split("=")[1]}`);
  });

  it("removes only this Berth's images of the app that no kept deployment uses", async () => {
    const removed = await pruneImages({ docker, own: [run], log }, [`berth/${app}/web:d1`], app);

    expect(removed).toEqual([`berth/${app}/web:d2`]);
    const left = await docker.listImages({ filters: { label: [`${LABEL.managed}=true`] } });
    expect(tags(left)).toEqual(expect.arrayContaining([`berth/${app}/web:d1`, "berth/other/web:d3", `berth/${app}/web:d4`]));
    expect(tags(left)).not.toContain(`berth/${app}/web:d2`);
  });
});
