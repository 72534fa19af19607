// The "spec" check run: the spec at a commit validated, each problem an annotation at its exact place in the
// file. GitHub takes at most 50 annotations a request; the rest follow in updates of the same run, up to
// MAX_ANNOTATIONS: a spec with thousands of problems must not cost thousands of writes (the summary says how
// many more there are).
import type { FetchedSpec } from "../core/ports.js";
import type { SpecProblem } from "../core/ports.js";
import { ANNOTATIONS_PER_REQUEST, OUTPUT_LIMIT } from "./check-run-body.js";
import type { GitHub } from "./octokit.js";
import type { Redact } from "../core/redact.js";
import { splitRepository } from "./repository.js";
import type { InstallationWriteQueue } from "./write-queue.js";

const SPEC_CHECK_NAME = "spec";
export const SPEC_CHECK_EXTERNAL_ID = "berth:spec";

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: "failure" | "warning" | "notice";
  title?: string;
  message: string;
}

function pathText(path: SpecProblem["path"]): string | undefined {
  if (path === undefined) return undefined;
  if (typeof path === "string") return path || undefined;
  return path.length ? path.join(".") : undefined;
}

export function annotationFor(file: string, problem: SpecProblem): Annotation {
  const start = Math.max(1, problem.line ?? 1);
  const end = Math.max(start, problem.endLine ?? start);
  const annotation: Annotation = {
    path: file,
    start_line: start,
    end_line: end,
    annotation_level: problem.severity === "error" ? "failure" : problem.severity === "warning" ? "warning" : "notice",
    message: problem.message,
  };
  const title = pathText(problem.path);
  if (title) annotation.title = title;
  // GitHub accepts columns only on single-line annotations, and its end column is inclusive where the
  // spec engine's is exclusive (LSP style).
  if (start === end && problem.column !== undefined) {
    annotation.start_column = Math.max(1, problem.column);
    annotation.end_column = Math.max(annotation.start_column, (problem.endColumn ?? problem.column + 1) - 1);
  }
  return annotation;
}

export interface SpecCheckBody {
  conclusion: "success" | "failure";
  title: string;
  summary: string;
  /** One array per request, each at most 50 long. */
  batches: Annotation[][];
}

/** Annotations sent for one spec (four requests); the summary counts the rest. */
export const MAX_ANNOTATIONS = 200;
/** Problems listed in the summary, each cut to MESSAGE_LIMIT characters. */
const MAX_LISTED = 200;
const MESSAGE_LIMIT = 500;

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

function titleFor(spec: FetchedSpec, errors: number, warnings: number): string {
  if (errors > 0) return `${count(errors, "error")} in ${spec.path}`;
  return warnings > 0 ? `${spec.path} is valid, with ${count(warnings, "warning")}` : `${spec.path} is valid`;
}

function summaryFor(spec: FetchedSpec, problems: SpecProblem[]): string {
  if (problems.length === 0) return `Berth read \`${spec.path}\` and found nothing to fix.`;
  const lines = problems.slice(0, MAX_LISTED).map((p) => {
    const where = pathText(p.path) ? ` \`${clip(pathText(p.path) ?? "", 200)}\`` : "";
    return `- ${p.severity === "error" ? "❌" : "⚠️"} line ${p.line ?? 1}${where}: ${clip(p.message, MESSAGE_LIMIT)}`;
  });
  const unlisted = problems.length - lines.length;
  if (unlisted > 0) lines.push(`- …and ${count(unlisted, "more problem")} not listed`);
  const unannotated = problems.length - Math.min(problems.length, MAX_ANNOTATIONS);
  if (unannotated > 0) lines.push("", `Annotated: the first ${MAX_ANNOTATIONS}, and ${count(unannotated, "more problem")} not annotated.`);
  const summary = lines.join("\n");
  return summary.length > OUTPUT_LIMIT ? `${summary.slice(0, OUTPUT_LIMIT - 40)}\n…(see the annotations for the rest)` : summary;
}

function specCheckBody(spec: FetchedSpec, problems: SpecProblem[]): SpecCheckBody {
  const errors = problems.filter((p) => p.severity === "error").length;
  const annotations = problems
    .slice(0, MAX_ANNOTATIONS)
    .map((p) => annotationFor(spec.path, { ...p, message: clip(p.message, MESSAGE_LIMIT) }));
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) {
    batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  }
  const title = titleFor(spec, errors, problems.length - errors);
  return { conclusion: errors > 0 ? "failure" : "success", title, summary: summaryFor(spec, problems), batches };
}

export interface ReportSpecCheckOptions {
  github: GitHub;
  writes: InstallationWriteQueue;
  redact: Redact;
  installationId: number;
  repository: string;
  sha: string;
  spec: FetchedSpec;
  problems: SpecProblem[];
}

/** Creates the completed "spec" check run; annotations beyond the first 50 (up to MAX_ANNOTATIONS) go in follow-up updates. */
export async function reportSpecCheck(o: ReportSpecCheckOptions): Promise<SpecCheckBody> {
  const body = specCheckBody(o.spec, o.problems);
  const { owner, repo } = splitRepository(o.repository);
  const output = (annotations: Annotation[] | undefined) => ({
    title: o.redact(body.title),
    summary: o.redact(body.summary),
    ...(annotations?.length ? { annotations: annotations.map((a) => ({ ...a, message: o.redact(a.message) })) } : {}),
  });
  await o.writes.run(o.installationId, async () => {
    const [first, ...rest] = body.batches;
    const { data } = await o.github.rest.checks.create({
      owner,
      repo,
      name: SPEC_CHECK_NAME,
      head_sha: o.sha,
      external_id: SPEC_CHECK_EXTERNAL_ID,
      status: "completed",
      conclusion: body.conclusion,
      completed_at: new Date().toISOString(),
      output: output(first),
    });
    for (const batch of rest) {
      await o.github.rest.checks.update({ owner, repo, check_run_id: data.id, output: output(batch) });
    }
  });
  return body;
}
