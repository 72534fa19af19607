import { describe, expect, it } from "vitest";
import { fromPush, parseCommand } from "../../src/webhooks/events.js";
import { example } from "../github/kit.js";

describe("parseCommand", () => {
  it.each([
    ["/berth deploy", { name: "deploy", args: [] }],
    ["Thanks!\r\n/berth restart web worker", { name: "restart", args: ["web", "worker"] }],
    ["/berth restart web,worker", { name: "restart", args: ["web", "worker"] }],
    ["  /berth rollback  ", { name: "rollback", args: [] }],
    ["/berth frobnicate", { ignored: 'unknown command "/berth frobnicate"' }],
    ["please /berth deploy", null],
    ["LGTM", null],
  ])("%j", (body, expected) => expect(parseCommand(body)).toEqual(expected));
});

describe("fromPush", () => {
  it("lists changed paths only when GitHub listed every commit of an ordinary push", () => {
    const payload = example<Record<string, any>>("push", (p) => p.ref === "refs/heads/master" && Boolean(p.installation)); // eslint-disable-line @typescript-eslint/no-explicit-any
    payload.created = false;
    payload.commits = [
      { added: ["api/new.ts"], modified: ["web/a.ts"], removed: [] },
      { added: [], modified: ["web/a.ts"], removed: ["docs/old.md"] },
    ];
    expect(fromPush(payload as never)).toMatchObject({ changedPaths: ["api/new.ts", "docs/old.md", "web/a.ts"] });
    payload.forced = true;
    expect(fromPush(payload as never)).toMatchObject({ changedPaths: null });
    payload.forced = false;
    payload.commits = Array.from({ length: 20 }, () => ({ added: [], modified: ["x"], removed: [] }));
    expect(fromPush(payload as never)).toMatchObject({ changedPaths: null });
  });
});
