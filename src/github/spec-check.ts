// The "spec" check run: the spec at a commit validated, each problem an annotation at its exact place in the
// file. GitHub takes at most 50 annotations a request; the rest follow in updates of the same run.
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

function specCheckBody(spec: FetchedSpec, problems: SpecProblem[]): SpecCheckBody {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  const annotations = problems.map((p) => annotationFor(spec.path, p));
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) {
    batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  }
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const title =
    errors > 0
      ? `${count(errors, "error")} in ${spec.path}`
      : warnings > 0
        ? `${spec.path} is valid, with ${count(warnings, "warning")}`
        : `${spec.path} is valid`;
  const lines = problems.map(
    (p) => `- ${p.severity === "error" ? "❌" : "⚠️"} line ${p.line ?? 1}${pathText(p.path) ? ` \`${pathText(p.path)}\`` : ""}: ${p.message}`,
  );
  let summary = lines.length ? lines.join("\n") : `Berth read \`${spec.path}\` and found nothing to fix.`;
  if (summary.length > OUTPUT_LIMIT) summary = `${summary.slice(0, OUTPUT_LIMIT - 40)}\n…(see the annotations for the rest)`;
  return { conclusion: errors > 0 ? "failure" : "success", title, summary, batches };
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

/** Creates the completed "spec" check run; annotations beyond the first 50 go in follow-up updates. */
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
