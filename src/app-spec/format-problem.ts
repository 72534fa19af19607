import type { Problem } from "./parse-app-spec.js";

/** One line for a terminal or a log: `PATH:LINE:COL: error|warning: MESSAGE (at DOTTED.PATH)`. */
export function formatProblem(p: Problem, file: string): string {
  const at = p.path === "" ? "" : ` (at ${p.path})`;
  return `${file}:${p.line}:${p.column}: ${p.severity}: ${p.message}${at}`;
}
