import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import * as tar from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitHubSource } from "../../src/github/source.js";
import { API, createTestProbot, mockToken, TOKEN, useStrictNock } from "./kit.js";

const app = { installationId: 42, repository: "octo/shop", environment: "production" };
const sha = "a".repeat(40);

describe("GitHubSource", () => {
  useStrictNock();
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-source-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function source() {
    const probot = createTestProbot();
    return new GitHubSource((id) => probot.auth(id));
  }

  it("reads .do/app.yaml at the commit and remembers the token for the redactor", async () => {
    mockToken(42);
    nock(API)
      .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
      .query({ ref: sha })
      .matchHeader("authorization", `token ${TOKEN}`)
      .reply(200, { type: "file", encoding: "base64", content: Buffer.from("name: shop\n").toString("base64") });
    const s = source();
    await expect(s.readSpec(app, sha, new AbortController().signal)).resolves.toEqual({
      path: ".do/app.yaml",
      text: "name: shop\n",
    });
    expect(s.secrets()).toEqual([TOKEN]);
  });

  it("falls back to .do/deploy.template.yaml, and answers null when neither exists", async () => {
    mockToken(42);
    nock(API)
      .get("/repos/octo/shop/contents/.do%2Fapp.yaml")
      .query({ ref: sha })
      .twice()
      .reply(404, { message: "Not Found" })
      .get("/repos/octo/shop/contents/.do%2Fdeploy.template.yaml")
      .query({ ref: sha })
      .reply(200, { type: "file", encoding: "base64", content: Buffer.from("spec:\n  name: shop\n").toString("base64") })
      .get("/repos/octo/shop/contents/.do%2Fdeploy.template.yaml")
      .query({ ref: sha })
      .reply(404, { message: "Not Found" });
    const s = source();
    const signal = new AbortController().signal;
    await expect(s.readSpec(app, sha, signal)).resolves.toEqual({ path: ".do/deploy.template.yaml", text: "spec:\n  name: shop\n" });
    await expect(s.readSpec(app, sha, signal)).resolves.toBeNull();
  });

  it("does not swallow other errors", async () => {
    mockToken(42);
    nock(API).get("/repos/octo/shop/contents/.do%2Fapp.yaml").query({ ref: sha }).reply(500, { message: "boom" });
    await expect(source().readSpec(app, sha, new AbortController().signal)).rejects.toMatchObject({ status: 500 });
  });

  it("extracts the tarball of the commit, following GitHub's redirect, without the top directory", async () => {
    const packed = join(dir, "src.tgz");
    const tree = join(dir, "tree");
    const { mkdir, writeFile } = await import("node:fs/promises");
    await mkdir(join(tree, `octo-shop-${sha.slice(0, 7)}`, "api"), { recursive: true });
    await writeFile(join(tree, `octo-shop-${sha.slice(0, 7)}`, "api", "Dockerfile"), "FROM scratch\n");
    await tar.c({ gzip: true, file: packed, cwd: tree }, [`octo-shop-${sha.slice(0, 7)}`]);
    const body = await readFile(packed);

    mockToken(42);
    nock(API)
      .get(`/repos/octo/shop/tarball/${sha}`)
      .reply(302, "", { location: `https://codeload.github.com/octo/shop/legacy.tar.gz/${sha}?token=short-lived` });
    nock("https://codeload.github.com")
      .get(`/octo/shop/legacy.tar.gz/${sha}`)
      .query({ token: "short-lived" })
      .reply(200, body, { "content-type": "application/x-gzip" });

    const dest = join(dir, "out");
    await source().fetchSource(app, sha, dest, new AbortController().signal);
    await expect(readFile(join(dest, "api", "Dockerfile"), "utf8")).resolves.toBe("FROM scratch\n");
  });
});
