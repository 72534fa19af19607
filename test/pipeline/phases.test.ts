import { describe, expect, it } from "vitest";
import { TRANSITIONS, canTransition, isFinal, phasesLeadingTo } from "../../src/core/phases.js";
import { PHASES, type Phase } from "../../src/core/phases.js";

describe("deployment phases", () => {
  const legal: [Phase, Phase][] = [
    ["PENDING_BUILD", "BUILDING"],
    ["PENDING_BUILD", "PENDING_DEPLOY"],
    ["BUILDING", "PENDING_DEPLOY"],
    ["PENDING_DEPLOY", "DEPLOYING"],
    ["DEPLOYING", "ACTIVE"],
    ["ACTIVE", "SUPERSEDED"],
    ["PENDING_BUILD", "SUPERSEDED"],
    ["BUILDING", "CANCELED"],
    ["DEPLOYING", "ERROR"],
  ];
  const illegal: [Phase, Phase][] = [
    ["PENDING_BUILD", "ACTIVE"],
    ["BUILDING", "DEPLOYING"],
    ["BUILDING", "ACTIVE"],
    ["DEPLOYING", "BUILDING"],
    ["ACTIVE", "ERROR"],
    ["ACTIVE", "DEPLOYING"],
    ["ERROR", "ACTIVE"],
    ["CANCELED", "PENDING_BUILD"],
    ["SUPERSEDED", "ACTIVE"],
  ];

  it.each(legal)("allows %s → %s", (from, to) => expect(canTransition(from, to)).toBe(true));
  it.each(illegal)("forbids %s → %s", (from, to) => expect(canTransition(from, to)).toBe(false));

  it("has an entry for every phase and never leaves ERROR, CANCELED or SUPERSEDED", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...PHASES].sort());
    for (const final of ["ERROR", "CANCELED", "SUPERSEDED"] as const) expect(TRANSITIONS[final]).toEqual([]);
  });

  it("every non-final phase can fail, be canceled or be superseded", () => {
    for (const phase of PHASES.filter((p) => !isFinal(p))) {
      expect(TRANSITIONS[phase]).toEqual(expect.arrayContaining(["ERROR", "CANCELED", "SUPERSEDED"]));
    }
  });

  it("lists where a phase can be reached from", () => {
    expect(phasesLeadingTo("ACTIVE")).toEqual(["DEPLOYING"]);
    expect(phasesLeadingTo("PENDING_DEPLOY").sort()).toEqual(["BUILDING", "PENDING_BUILD"]);
  });
});
