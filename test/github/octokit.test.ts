import nock from "nock";
import { Probot } from "probot";
import { describe, expect, it } from "vitest";
import { createBerthOctokit } from "../../src/github/octokit.js";
import { API, mockToken, privateKey, silentLog, useStrictNock } from "./kit.js";

describe("createBerthOctokit", () => {
  useStrictNock();

  it("gives up on a request GitHub does not start answering in time, so a write queue cannot hang", async () => {
    const probot = new Probot({
      appId: 1,
      privateKey,
      Octokit: createBerthOctokit({ retry: false, throttle: false, responseTimeoutMs: 1_000 }),
      log: silentLog(),
    });
    // The token exchange goes through the same fetch; under a loaded machine it needs more than a few ms.
    mockToken(42);
    nock(API).get("/repos/octo/shop").delay(20_000).reply(200, {});
    const github = await probot.auth(42);
    await expect(github.rest.repos.get({ owner: "octo", repo: "shop" })).rejects.toThrow(/did not answer within 1000 ms/);
  });

  it("retries a 5xx with Probot's retry plugin when retries are on", async () => {
    const probot = new Probot({
      appId: 1,
      privateKey,
      Octokit: createBerthOctokit({ throttle: false }).defaults({ retry: { retryAfterBaseValue: 1 } }),
      log: silentLog(),
    });
    mockToken(42);
    nock(API).get("/repos/octo/shop").reply(502, {}).get("/repos/octo/shop").reply(200, { full_name: "octo/shop" });
    const github = await probot.auth(42);
    await expect(github.rest.repos.get({ owner: "octo", repo: "shop" })).resolves.toMatchObject({ data: { full_name: "octo/shop" } });
  });
});
