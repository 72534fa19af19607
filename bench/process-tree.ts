// The memory of a process tree as Linux reports it: VmRSS from /proc for a process and all its descendants, each
// named by its role in what `npm start` leaves running.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessRss {
  pid: number;
  role: string;
  rssKb: number;
}

/** `npm`, `sh`, `tsx`, `main`, `router worker`, … from a process's command line. */
function roleOf(pid: number): string {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  const line = argv.join(" ");
  if (/router-worker\.(js|ts)/.test(line)) return "router worker";
  if (/(^|\/)npm(-cli\.js)?( |$)/.test(line) || argv[0] === "npm") return "npm";
  if (/^(\/bin\/)?sh /.test(line)) return "sh";
  if (/tsx\/dist\/cli/.test(line) || /\/\.bin\/tsx/.test(line)) return "tsx";
  if (/main\.(js|ts)/.test(line)) return "main";
  if (/--input-type=module/.test(line)) return "probot";
  return argv[0]?.split("/").at(-1) ?? "?";
}

function field(pid: number, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

function children(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number));
}

/** The process and all its descendants, each with its VmRSS; a process that exits meanwhile is left out. */
export function processTree(root: number): ProcessRss[] {
  const out: ProcessRss[] = [];
  const visit = (pid: number): void => {
    try {
      out.push({ pid, role: roleOf(pid), rssKb: field(pid, "VmRSS") });
      for (const child of children(pid)) visit(child);
    } catch {
      // exited between listing and reading
    }
  };
  visit(root);
  return out;
}
