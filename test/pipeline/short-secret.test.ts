// A SECRET too short to hide (redacting "on" would punch holes in every line and reveal it by their pattern) is
// not redacted: the deployment says so at the spec step, naming the key and never the value.
import { afterEach, describe, expect, it } from "vitest";
import { harness, pushIntent, sha, SPEC, type Harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => h?.close());

describe("a SECRET too short to redact", () => {
  it("is named in a warning on the spec step's log, and the deployment goes on", async () => {
    h = await harness();
    h.source.specs.set("default", SPEC.replace(/value: "s3cr3t-api-key-value!"/, 'value: "on"'));
    const { deploymentId } = await h.pipeline.submit(pushIntent(h.app, sha(1)));
    const done = await h.settled(deploymentId!);
    expect(done.phase).toBe("ACTIVE");
    const log = (await h.store.logs.read(deploymentId!, { step: "spec" })).map((c) => c.text).join("");
    expect(log).toContain("warning: SECRET API_KEY is shorter than 6 characters");
    expect(log).not.toMatch(/\bon\b/);
  });
});
