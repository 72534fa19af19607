import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedactor, REDACTED, secretForms } from "../../src/core/redact.js";
import { StepLogs } from "../../src/pipeline/step-logs.js";
import type { PipelineEvent } from "../../src/core/types.js";
import type { SqlStore as Store } from "../../src/store/index.js";
import type { TestStore } from "../store/open-store.js";
import { API_KEY, harness, openPipelineStore, pushIntent, sha, SPEC, TOKEN, type Harness } from "./helpers.js";

const SECRET = "correct horse/battery+staple?";

describe("redactor", () => {
  const r = createRedactor([SECRET]);

  it("replaces the value, its URL-encoded, JSON-escaped and base64 forms at any alignment", () => {
    expect(r.redact(`password=${SECRET}.`)).toBe(`password=${REDACTED}.`);
    expect(r.redact(`u=${encodeURIComponent(SECRET)}&x`)).toBe(`u=${REDACTED}&x`);
    expect(r.redact(`q=${new URLSearchParams({ a: SECRET }).toString().slice(2)}`)).toBe(`q=${REDACTED}`);
    expect(r.redact(JSON.stringify({ v: `a"${SECRET}` }))).not.toContain("battery");
    for (const prefix of ["", "x", "xy", "user:"]) {
      const encoded = Buffer.from(`${prefix}${SECRET}trailing`).toString("base64");
      const out = r.redact(`Authorization: Basic ${encoded}`);
      expect(out).toContain(REDACTED);
      for (const form of secretForms(SECRET)) expect(out).not.toContain(form);
    }
  });

  it("recognises GitHub tokens nobody registered", () => {
    const fresh = createRedactor();
    expect(fresh.redact(`x-access-token:ghs_${"a".repeat(36)}@github.com`)).toBe(`x-access-token:${REDACTED}@github.com`);
    expect(fresh.redact(`github_pat_${"B".repeat(82)}`)).toBe(REDACTED);
  });

  it("masks each line of a multi-line secret", () => {
    const pem = "-----BEGIN KEY-----\nMIIEowIBAAKCAQEA1\n-----END KEY-----";
    expect(createRedactor([pem]).redact("MIIEowIBAAKCAQEA1")).toBe(REDACTED);
  });

  it("catches a secret split across two chunks of a stream, wherever the split falls", () => {
    for (let split = 0; split <= SECRET.length; split++) {
      const stream = r.stream();
      const text = `before ${SECRET} after`;
      const at = "before ".length + split;
      const out = stream.write(text.slice(0, at)) + stream.write(text.slice(at)) + stream.end();
      expect(out).toBe(`before ${REDACTED} after`);
    }
  });

  it("step logs store and announce only redacted text, even when chunks split a secret", async () => {
    const appended: string[] = [];
    const events: PipelineEvent[] = [];
    const store = { logs: { append: async (_d: string, _s: string, text: string) => void appended.push(text) } } as unknown as Store;
    const logs = new StepLogs(store, "dep", createRedactor([SECRET]), (e) => events.push(e), 1_000);
    logs.write("build:web", `step 1 ${SECRET.slice(0, 9)}`);
    logs.write("build:web", `${SECRET.slice(9)} done\nstep 2\n`);
    await logs.flush(true);
    expect(appended.join("")).toBe(`step 1 ${REDACTED} done\nstep 2\n`);
    expect(events.map((e) => (e.type === "deployment.log" ? e.line : ""))).toEqual([`step 1 ${REDACTED} done`, "step 2"]);
  });
});

describe("redaction in a deployment", () => {
  let h: Harness;
  let opened: TestStore;
  let shared: Store;
  beforeAll(async () => {
    opened = await openPipelineStore();
    shared = opened.store;
  });
  afterAll(async () => opened.cleanup());
  afterEach(async () => h?.close());

  it("no secret reaches stored logs, events, step messages or the deployment message", { timeout: 120_000 }, async () => {
    h = await harness({
      store: shared,
      runtime: {
        hooks: {
          build: (req) => {
            req.log(`cloning https://x-access-token:${TOKEN}@github.com/acme/shop.git`);
            req.log(`encoded ${Buffer.from(`key:${API_KEY}`).toString("base64")} and ${encodeURIComponent(API_KEY)}`);
            if (req.component === "queue" && req.deploymentId === failing) throw new Error(`registry refused API_KEY=${API_KEY}`);
          },
        },
      },
    });
    let failing = "";
    const ok = (await h.pipeline.submit(pushIntent(h.app, sha(1)))).deploymentId!;
    expect((await h.settled(ok)).phase).toBe("ACTIVE");
    failing = (await h.pipeline.submit(pushIntent(h.app, sha(2)))).deploymentId!;
    const bad = await h.settled(failing);
    expect(bad.phase).toBe("ERROR");
    expect(bad.message).toBe(`build of queue failed: registry refused API_KEY=${REDACTED}`);

    const everything = JSON.stringify([
      h.events,
      await h.store.deployments.get(ok),
      await h.store.deployments.get(failing),
      await h.pipeline.readLogs(ok),
      await h.pipeline.readLogs(failing),
    ]);
    const stored = (await h.pipeline.readLogs(ok)).map((c) => c.text).join("");
    // The runtime printed the secret in build, job and rollout output; all of it arrived masked.
    expect(stored).toContain(`build env API_KEY=${REDACTED}`);
    expect(stored).toContain(`env API_KEY=${REDACTED}`);
    expect(stored).toContain(`x-access-token:${REDACTED}@github.com`);
    for (const form of [...secretForms(API_KEY), TOKEN, JSON.stringify(API_KEY).slice(1, -1)]) {
      expect(everything).not.toContain(form);
    }
    expect(everything).toContain(REDACTED);
  });

  it("masks database credentials the composition root binds, wherever a component prints them", async () => {
    const password = "pg-Pa55word-Xyz";
    h = await harness({
      store: shared,
      pipeline: {
        bindContext: ({ base }) => ({
          ...base,
          databases: {
            db: {
              hostname: "127.0.0.1",
              port: 5432,
              username: "shop",
              password,
              database: "shop",
              databaseUrl: `postgresql://shop:${password}@127.0.0.1:5432/shop`,
            },
          },
        }),
      },
    });
    h.source.specs.set(
      "default",
      SPEC.replace("      - key: SELF_URL", "      - key: DATABASE_URL\n        value: ${db.DATABASE_URL}\n      - key: SELF_URL") +
        "databases:\n  - name: db\n    engine: PG\n",
    );
    const id = (await h.pipeline.submit(pushIntent(h.app, sha(1)))).deploymentId!;
    expect((await h.settled(id)).phase).toBe("ACTIVE");
    expect(h.runtime.serving.get((await h.store.deployments.get(id))!.appId)!.get("api")!.env.DATABASE_URL).toContain(password);
    const stored = (await h.pipeline.readLogs(id)).map((c) => c.text).join("");
    expect(stored).toContain(`env DATABASE_URL=${REDACTED}`);
    expect(JSON.stringify([stored, h.events])).not.toContain(password);
  });
});
