// SECRET envs as App Platform writes them: without a value (set in the control panel, here with `berth
// secrets set`), in the encrypted EV[…] form `doctl apps spec get` exports, or (warned) in plain text.
import { describe, expect, it } from "vitest";
import { isAppPlatformEncrypted, parseAppSpec } from "../../src/app-spec/index.js";

const SPEC = `name: shop
envs:
  - key: APP_TOKEN
    type: SECRET
  - key: EXPORTED
    value: EV[1:c2FsdA==:Y2lwaGVy]
    type: SECRET
services:
  - name: api
    image: { registry_type: DOCKER_HUB, registry: library, repository: nginx }
    envs:
      - key: API_KEY
        type: SECRET
        scope: RUN_TIME
      - key: FROM_DB
        value: \${db.PASSWORD}
        type: SECRET
      - key: PLAIN
        value: written-in-the-repository
        type: SECRET
databases:
  - name: db
    engine: PG
`;

describe("SECRET envs", () => {
  it("accepts them without a value and in EV form at app and component level, and warns at a plaintext value", () => {
    const { spec, problems } = parseAppSpec(SPEC);
    expect(spec).not.toBeNull();
    expect(spec!.envs.map((e) => [e.key, e.value])).toEqual([["APP_TOKEN", undefined], ["EXPORTED", "EV[1:c2FsdA==:Y2lwaGVy]"]]);
    expect(problems).toEqual([
      expect.objectContaining({ severity: "warning", line: 19, column: 16, path: "services[0].envs[2].value", message: expect.stringContaining("SECRET PLAIN is written in the spec in plain text") }),
    ]);
    expect(problems[0]!.message).toContain("berth secrets set <owner/repo> PLAIN");
  });

  it("recognises App Platform's encrypted form only", () => {
    expect(isAppPlatformEncrypted("EV[1:abc:def]")).toBe(true);
    expect(isAppPlatformEncrypted("EV[1:abc")).toBe(false);
    expect(isAppPlatformEncrypted("plain")).toBe(false);
  });
});
