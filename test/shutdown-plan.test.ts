import { pino } from "pino";
import { expect, it } from "vitest";
import { runShutdown } from "../src/shutdown.js";

const log = pino({ level: "silent" });
const never = () => new Promise(() => undefined);

it("runs stages in order, abandons a step that outlives its limit and goes on with the next stage", async () => {
  const ran: string[] = [];
  const abandoned = await runShutdown(
    [
      [
        { name: "worker", run: never, maxMs: 20 },
        { name: "pipeline", run: () => void ran.push("pipeline") },
      ],
      [{ name: "failing", run: () => Promise.reject(new Error("boom")) }],
      [{ name: "store", run: () => void ran.push("store") }],
    ],
    10_000,
    log,
  );
  expect(abandoned).toEqual(["worker"]);
  expect(ran).toEqual(["pipeline", "store"]);
});

it("once the budget is spent, names every step it could not run", async () => {
  const ran: string[] = [];
  const abandoned = await runShutdown([[{ name: "router", run: never }], [{ name: "store", run: () => void ran.push("store") }]], 20, log);
  expect(abandoned).toEqual(["router", "store"]);
  expect(ran).toEqual([]);
});
