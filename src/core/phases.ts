// The deployment state machine: App Platform's phases, the transitions allowed between them, and predicates.
// The store enforces the table (a transition is a compare-and-set on the current phase), so two workers or a
// late event can never move a deployment backwards or out of a final phase.
/** App Platform's deployment phases, in the order a deployment moves through them; the only list of them. */
export const PHASES = [
  "PENDING_BUILD",
  "BUILDING",
  "PENDING_DEPLOY",
  "DEPLOYING",
  "ACTIVE",
  "SUPERSEDED",
  "ERROR",
  "CANCELED",
] as const;
export type Phase = (typeof PHASES)[number];

const FAILED: Phase[] = ["ERROR", "CANCELED", "SUPERSEDED"];

export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  // PENDING_BUILD → PENDING_DEPLOY: restarts and rollbacks reuse images and skip the build.
  PENDING_BUILD: ["BUILDING", "PENDING_DEPLOY", ...FAILED],
  BUILDING: ["PENDING_DEPLOY", ...FAILED],
  PENDING_DEPLOY: ["DEPLOYING", ...FAILED],
  DEPLOYING: ["ACTIVE", ...FAILED],
  // A newer deployment took over serving the app.
  ACTIVE: ["SUPERSEDED"],
  SUPERSEDED: [],
  ERROR: [],
  CANCELED: [],
};

/** The way to ACTIVE, in order: what a check run's progress line shows. */
export const PROGRESS_PHASES: readonly Phase[] = PHASES.slice(0, PHASES.indexOf("ACTIVE") + 1);

export const NON_FINAL_PHASES: readonly Phase[] = PROGRESS_PHASES.filter((p) => p !== "ACTIVE");

/** No transition leaves a final phase, except ACTIVE which a newer deployment supersedes. */
export function isFinal(phase: Phase): boolean {
  return !NON_FINAL_PHASES.includes(phase);
}

/** Whether `a` comes before `b` in the order a deployment moves through the phases (PHASES' order). */
export function isBefore(a: Phase, b: Phase): boolean {
  return PHASES.indexOf(a) < PHASES.indexOf(b);
}

export function canTransition(from: Phase, to: Phase): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Phases from which `to` may be reached. */
export function phasesLeadingTo(to: Phase): Phase[] {
  return (Object.keys(TRANSITIONS) as Phase[]).filter((from) => TRANSITIONS[from].includes(to));
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly deploymentId: string,
    readonly from: Phase | null,
    readonly to: Phase,
  ) {
    super(
      from === null
        ? `deployment ${deploymentId} does not exist, so it cannot become ${to}`
        : `deployment ${deploymentId} cannot go from ${from} to ${to}` +
          (TRANSITIONS[from].length ? ` (allowed: ${TRANSITIONS[from].join(", ")})` : ` (${from} is final)`),
    );
    this.name = "IllegalTransitionError";
  }
}
