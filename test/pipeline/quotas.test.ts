import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PipelineOptions } from "../../src/pipeline/index.js";
import { DEFAULT_QUOTAS, limiter } from "../../src/pipeline/quotas.js";
import type { TestStore } from "../store/open-store.js";
import { gate, harness as makeHarness, openPipelineStore, pushIntent, sha, type Harness } from "./helpers.js";

let opened: TestStore;
beforeAll(async () => {
  opened = await openPipelineStore();
});
afterAll(async () => opened.cleanup());

let h: Harness | undefined;
afterEach(async () => h?.close());

const service = (name: string, extra: string) =>
  `  - name: ${name}\n    github: { repo: acme/shop, branch: main }\n    source_dir: ${name}\n    http_port: 8080\n${extra}`;

async function deploySpec(text: string, pipeline: Partial<PipelineOptions> = {}) {
  h = await makeHarness({ store: opened.store, pipeline });
  h.source.specs.set(sha(1), text);
  const { deploymentId } = await h.pipeline.submit(pushIntent(h.app, sha(1)));
  return h.settled(deploymentId!);
}

describe("quotas", () => {
  it("refuses 250 instances of the largest size before any build, naming the component, field and variable", async () => {
    const failed = await deploySpec(`name: shop\nservices:\n${service("web", "    instance_count: 250\n    instance_size_slug: apps-d-8vcpu-32gb\n")}`);
    expect(failed.phase).toBe("ERROR");
    expect(failed.error).toMatchObject({ code: "QUOTA_EXCEEDED", step: "spec", component: "web" });
    expect(failed.message).toBe("web: instance_size_slug apps-d-8vcpu-32gb is over this Berth's limit of apps-s-2vcpu-4gb (BERTH_MAX_INSTANCE_SIZE)");
    expect(failed.error?.markdown).toContain("Nothing was built or started.");
    expect(h!.runtime.operations).toEqual([]);
  });

  it("refuses more instances than BERTH_MAX_INSTANCES", async () => {
    const failed = await deploySpec(`name: shop\nservices:\n${service("web", "    instance_count: 250\n")}`);
    expect(failed.error).toMatchObject({ code: "QUOTA_EXCEEDED", component: "web" });
    expect(failed.message).toBe("web: instance_count 250 is over this Berth's limit of 10 (BERTH_MAX_INSTANCES)");
    expect(h!.runtime.operations).toEqual([]);
  });

  it("counts an autoscaled component at its minimum, and names that field", async () => {
    const failed = await deploySpec(
      `name: shop\nservices:\n${service("web", "    instance_size_slug: apps-d-1vcpu-1gb\n    autoscaling:\n      min_instance_count: 12\n      max_instance_count: 20\n      metrics: { cpu: { percent: 80 } }\n")}`,
    );
    expect(failed.message).toBe("web: autoscaling.min_instance_count 12 is over this Berth's limit of 10 (BERTH_MAX_INSTANCES)");
  });

  it("refuses an app whose instances together ask for more memory than BERTH_MAX_APP_MEMORY", async () => {
    const four = "    instance_count: 3\n    instance_size_slug: apps-s-2vcpu-4gb\n";
    const failed = await deploySpec(`name: shop\nservices:\n${service("web", four)}${service("api", four)}`);
    expect(failed.error).toMatchObject({ code: "QUOTA_EXCEEDED", component: "api" });
    expect(failed.message).toBe(
      "api: memory of all services' and workers' instances (instance_count × instance_size_slug) 24 GiB is over this Berth's limit of 16 GiB (BERTH_MAX_APP_MEMORY)",
    );
    expect(h!.runtime.operations).toEqual([]);
  });

  it("applies limits the operator raised", async () => {
    const done = await deploySpec(`name: shop\nservices:\n${service("web", "    instance_count: 12\n")}`, { quotas: { maxInstances: 12 } });
    expect(done.phase).toBe("ACTIVE");
    expect(h!.runtime.serving.get(done.appId)!.get("web")!.instances).toHaveLength(12);
  });

  it("runs at most BERTH_MAX_BUILDS_PER_APP builds of a deployment at once", async () => {
    const release = gate();
    let running = 0;
    let most = 0;
    h = await makeHarness({
      store: opened.store,
      pipeline: { quotas: { maxBuildsPerApp: 1 } },
      runtime: {
        hooks: {
          async build() {
            most = Math.max(most, ++running);
            await release.promise;
            running--;
          },
        },
      },
    });
    h.source.specs.set(sha(1), `name: shop\nservices:\n${service("aa", "")}${service("bb", "")}${service("cc", "")}`);
    const { deploymentId } = await h.pipeline.submit(pushIntent(h.app, sha(1)));
    await expect.poll(() => h!.runtime.operations.filter((o) => o.op === "build").length, { timeout: 10_000 }).toBe(1);
    release.open();
    expect((await h.settled(deploymentId!)).phase).toBe("ACTIVE");
    expect(most).toBe(1);
    expect(h.runtime.operations.filter((o) => o.op === "build")).toHaveLength(3);
  });

  it("defaults to 10 instances, apps-s-2vcpu-4gb, 16 GiB and 2 builds per app", () => {
    expect(DEFAULT_QUOTAS).toEqual({ maxInstances: 10, maxInstanceSize: "apps-s-2vcpu-4gb", maxAppMemory: 16 * 1024 ** 3, maxBuildsPerApp: 2 });
  });
});

describe("limiter", () => {
  it("hands a freed slot to the next waiter, in order", async () => {
    const limit = limiter(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) => limit(async () => {
      started.push(i);
      await g.promise;
    }));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1]!.open();
    await runs[1];
    await expect.poll(() => started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    await Promise.all(runs);
    expect(started).toEqual([0, 1, 2, 3]);
  });
});
