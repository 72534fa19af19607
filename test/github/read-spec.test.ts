import nock from "nock";
import { describe, expect, it, vi } from "vitest";
import { parseAppSpec } from "../../src/app-spec/index.js";
import type { SpecParser } from "../../src/core/ports.js";
import { readParsedSpec, readSpecAt } from "../../src/github/read-spec.js";
import { pathologicalSpec } from "../app-spec/pathological-spec.js";
import { API, createTestProbot, mockToken, SHA, useStrictNock } from "./kit.js";

const ONE_MB = 1024 * 1024;

/** What the contents API answers for a file: up to 1 MB in full, with its size. */
function contents(text: string) {
  return { type: "file", encoding: "base64", size: Buffer.byteLength(text), content: Buffer.from(text).toString("base64") };
}

describe("readSpecAt and readParsedSpec", () => {
  useStrictNock();

  async function github() {
    mockToken(42);
    return createTestProbot().auth(42);
  }

  it("leaves a file above the cap undecoded and hands the parser nothing: one problem at line 1", async () => {
    const text = pathologicalSpec(ONE_MB);
    nock(API).get("/repos/octo/shop/contents/.do%2Fapp.yaml").query({ ref: SHA }).twice().reply(200, contents(text));
    const gh = await github();
    const size = Buffer.byteLength(text);
    await expect(readSpecAt(gh, "octo/shop", SHA)).resolves.toEqual({ path: ".do/app.yaml", text: "", size });
    const parse = vi.fn<SpecParser>(parseAppSpec as unknown as SpecParser);
    const read = await readParsedSpec(gh, parse, "octo/shop", SHA);
    expect(parse).not.toHaveBeenCalled();
    expect(read?.spec).toBeNull();
    expect(read?.problems).toEqual([
      expect.objectContaining({ severity: "error", line: 1, column: 1, message: `the spec is ${Math.ceil(size / 1024)} KiB; Berth reads specs up to 256 KiB` }),
    ]);
  });

  it("awaits a parser that answers later (the worker-backed one)", async () => {
    nock(API).get("/repos/octo/shop/contents/.do%2Fapp.yaml").query({ ref: SHA }).reply(200, contents("name: shop\n"));
    const parse: SpecParser = async (text, options) => parseAppSpec(text, options) as Awaited<ReturnType<SpecParser>>;
    const read = await readParsedSpec(await github(), parse, "octo/shop", SHA);
    expect(read).toMatchObject({ fetched: { path: ".do/app.yaml", text: "name: shop\n" }, spec: { name: "shop" }, problems: [] });
  });
});
