// What a deployment's check run shows, as a pure function of the deployment record and the log tail of
// its failing step. GitHub caps summary and text at 65,535 characters each.
import { PROGRESS_PHASES } from "../core/phases.js";
import type { DeploymentRecord, Phase, StepRecord } from "../core/types.js";

export const OUTPUT_LIMIT = 65_535;
export const ANNOTATIONS_PER_REQUEST = 50;

type CheckStatus = "queued" | "in_progress" | "completed";
type CheckConclusion = "success" | "failure" | "cancelled" | "timed_out";

export interface CheckRunState {
  name: string;
  status: CheckStatus;
  conclusion?: CheckConclusion;
  output: { title: string; summary: string; text?: string };
  actions?: { label: string; description: string; identifier: string }[];
}

const CHECK_ACTIONS = {
  redeploy: { label: "Redeploy", description: "Deploy this commit again", identifier: "redeploy" },
  rebuild: { label: "Force rebuild", description: "Rebuild every image without cache", identifier: "rebuild" },
  rollback: { label: "Roll back here", description: "Serve this deployment again", identifier: "rollback" },
} as const;


function checkRunName(environment: string): string {
  return `Berth (${environment})`;
}

/** Keep the end of a text that is too long (a log's last lines matter most). */
export function clipTail(text: string, limit = OUTPUT_LIMIT): string {
  if (text.length <= limit) return text;
  const marker = "…(earlier output cut)\n";
  return marker + text.slice(text.length - (limit - marker.length));
}

function clipHead(text: string, limit = OUTPUT_LIMIT): string {
  if (text.length <= limit) return text;
  const marker = "\n…(cut)";
  return text.slice(0, limit - marker.length) + marker;
}

function statusOf(phase: Phase): CheckStatus {
  if (phase === "PENDING_BUILD") return "queued";
  if (phase === "BUILDING" || phase === "PENDING_DEPLOY" || phase === "DEPLOYING") return "in_progress";
  return "completed";
}

/** The runtime said the step ran out of time (the stored error's `timedOut`); the text is never read for it. */
function timedOut(deployment: DeploymentRecord): boolean {
  return deployment.error?.timedOut === true;
}

function conclusionOf(deployment: DeploymentRecord): CheckConclusion | undefined {
  switch (deployment.phase) {
    case "ACTIVE":
      return "success";
    case "ERROR":
      return timedOut(deployment) ? "timed_out" : "failure";
    case "CANCELED":
    case "SUPERSEDED":
      return "cancelled";
    default:
      return undefined;
  }
}

/** The step that failed: the one the error names, else the first that ended in ERROR. */
export function failingStep(deployment: DeploymentRecord): StepRecord | undefined {
  const named = deployment.error?.step;
  const steps = deployment.steps;
  return (named && steps.find((s) => s.name === named && s.status === "ERROR")) || steps.find((s) => s.status === "ERROR");
}

function stepLabel(step: StepRecord): string {
  return step.component && !step.name.includes(step.component) ? `${step.name} (${step.component})` : step.name;
}

function duration(step: StepRecord): string {
  if (!step.startedAt) return "";
  const end = step.endedAt ?? step.startedAt;
  const seconds = Math.max(0, Math.round((end.getTime() - step.startedAt.getTime()) / 1000));
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m ${seconds % 60}s` : `${seconds}s`;
}

const ICON: Record<StepRecord["status"], string> = {
  PENDING: "⏳",
  RUNNING: "🔄",
  SUCCESS: "✅",
  ERROR: "❌",
  CANCELED: "⛔",
  SKIPPED: "⏭️",
};

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

function phaseLine(deployment: DeploymentRecord): string {
  const reached = PROGRESS_PHASES.indexOf(deployment.phase);
  const parts = PROGRESS_PHASES.map((p, i) => {
    if (p === deployment.phase) return `**${p}**`;
    return reached >= 0 && i < reached ? `~~${p}~~` : p;
  });
  if (reached < 0) parts.push(`**${deployment.phase}**`);
  return parts.join(" → ");
}

function title(deployment: DeploymentRecord): string {
  const sha = deployment.sha.slice(0, 7);
  switch (deployment.phase) {
    case "PENDING_BUILD":
      return `Queued: ${sha}`;
    case "BUILDING":
      return `Building ${sha}`;
    case "PENDING_DEPLOY":
    case "DEPLOYING":
      return `Deploying ${sha}`;
    case "ACTIVE":
      return deployment.url ? `Live at ${deployment.url}` : `Deployed ${sha}`;
    case "SUPERSEDED":
      return `Superseded by a newer deployment`;
    case "CANCELED":
      return clipHead(`Canceled${deployment.message ? `: ${deployment.message}` : ""}`, 200);
    case "ERROR":
      return clipHead(`Failed${deployment.message ? `: ${deployment.message}` : ""}`, 200);
  }
}

/** What went wrong, in the error's own Markdown when the pipeline wrote some, else the message quoted. */
function explanation(deployment: DeploymentRecord): string {
  if (deployment.phase === "ERROR" && deployment.error?.markdown) return deployment.error.markdown;
  return deployment.message ? `> ${deployment.message.replace(/\n/g, "\n> ")}` : "";
}

export interface CheckRunBodyOptions {
  /** The failing step's last log lines, already redacted. */
  logTail?: string[];
  /** Whether this deployment served traffic at some point (then it can be rolled back to). */
  wasActive?: boolean;
}

export function checkRunState(deployment: DeploymentRecord, options: CheckRunBodyOptions = {}): CheckRunState {
  const status = statusOf(deployment.phase);
  const rows = deployment.steps.map(
    (s) => `| ${ICON[s.status]} ${cell(stepLabel(s))} | ${s.status} | ${duration(s)} | ${cell(s.message ?? "")} |`,
  );
  const summary = [
    phaseLine(deployment),
    `Commit \`${deployment.sha.slice(0, 7)}\` on \`${deployment.branch}\`, deployment \`${deployment.id}\`.`,
    deployment.url && deployment.phase === "ACTIVE" ? `Live at ${deployment.url}` : "",
    explanation(deployment),
    rows.length ? ["| Step | Status | Time | Detail |", "|---|---|---|---|", ...rows].join("\n") : "",
  ]
    .filter(Boolean)
    .join("\n\n");

  const failed = failingStep(deployment);
  const text =
    deployment.phase === "ERROR" && failed && options.logTail?.length
      ? clipTail(`Last lines of ${stepLabel(failed)}:\n\n\`\`\`\n${options.logTail.join("\n")}\n\`\`\``)
      : undefined;

  const state: CheckRunState = {
    name: checkRunName(deployment.app.environment),
    status,
    output: { title: title(deployment), summary: clipHead(summary), ...(text ? { text } : {}) },
  };
  if (status === "completed") {
    state.conclusion = conclusionOf(deployment);
    state.actions = [CHECK_ACTIONS.redeploy, CHECK_ACTIONS.rebuild];
    if (deployment.phase === "ACTIVE" || options.wasActive) state.actions.push(CHECK_ACTIONS.rollback);
  }
  return state;
}
