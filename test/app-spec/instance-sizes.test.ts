import { describe, expect, it } from "vitest";
import { instanceSize, INSTANCE_SIZES, LEGACY_INSTANCE_SIZES, parseAppSpec } from "../../src/app-spec/index.js";

const GiB = 1024 ** 3;

describe("instanceSize", () => {
  it("maps current and legacy slugs to CPU and memory", () => {
    expect(instanceSize("apps-s-1vcpu-0.5gb")).toEqual({ cpus: 1, memoryBytes: 0.5 * GiB });
    expect(instanceSize("apps-d-4vcpu-16gb")).toEqual({ cpus: 4, memoryBytes: 16 * GiB });
    expect(instanceSize("basic-xxs")).toEqual({ cpus: 1, memoryBytes: 0.5 * GiB });
    expect(instanceSize("professional-xl")).toEqual({ cpus: 8, memoryBytes: 16 * GiB });
  });

  it("names its memory in the slug, for every current slug", () => {
    for (const [slug, size] of Object.entries(INSTANCE_SIZES)) {
      const [, cpus, gb] = /(\d+)vcpu-([\d.]+)gb/.exec(slug) ?? [];
      expect(size).toEqual({ cpus: Number(cpus), memoryBytes: Number(gb) * GiB });
    }
  });

  it("accepts every slug the schema accepts, legacy ones with a warning naming the replacement", () => {
    for (const slug of [...Object.keys(INSTANCE_SIZES), ...Object.keys(LEGACY_INSTANCE_SIZES)]) {
      const { spec, problems } = parseAppSpec(`name: app\nworkers:\n  - name: wk\n    github: {repo: a/b}\n    instance_size_slug: ${slug}\n`);
      expect(spec?.workers[0]?.instance_size_slug).toBe(slug);
      expect(instanceSize(slug).cpus).toBeGreaterThan(0);
      const legacy = LEGACY_INSTANCE_SIZES[slug as keyof typeof LEGACY_INSTANCE_SIZES];
      expect(problems.map((p) => p.message)).toEqual(legacy ? [`instance size ${slug} is deprecated; use ${legacy.replacement}`] : []);
    }
  });

  it("throws on an unknown slug, listing the known ones", () => {
    expect(() => instanceSize("apps-x-huge")).toThrow(/unknown instance_size_slug "apps-x-huge"; expected one of apps-s-1vcpu-0.5gb/);
    expect(() => instanceSize("toString")).toThrow(/unknown instance_size_slug/);
  });
});
