// Which commit a maintainer's `/berth preview` approves: the one it names (`/berth preview <sha>`), or else
// the head they saw, which is the newest head GitHub had before the comment was written. Never simply the
// head when Berth gets to the comment: a fork can push in between, and that commit nobody has reviewed.
import type { KeyValueState } from "../core/ports.js";
import type { GitHub } from "../github/octokit.js";
import { splitRepository } from "../github/repository.js";

/** A pull request's head as Berth saw it arrive, with GitHub's time for it. */
interface SeenHead {
  sha: string;
  at: string;
}

/** Enough for any pull request's recent pushes; older heads are rarely what a fresh comment saw. */
const HEADS_KEPT = 50;

const headsKey = (installationId: number, repository: string, number: number) =>
  `github:heads:${installationId}/${repository}#${number}`;

interface PullRequestRef {
  installationId: number;
  repository: string;
  number: number;
}

async function seenHeads(state: KeyValueState, pr: PullRequestRef): Promise<SeenHead[]> {
  const stored = await state.get(headsKey(pr.installationId, pr.repository, pr.number));
  return Array.isArray(stored) ? (stored as SeenHead[]) : [];
}

const time = (iso: string) => Date.parse(iso);

/** Remember a fork pull request's head, so a later comment can be matched to the head of its time. */
export async function recordHead(state: KeyValueState, pr: PullRequestRef & { sha: string; updatedAt?: string }): Promise<void> {
  if (!pr.updatedAt || Number.isNaN(time(pr.updatedAt))) return;
  const heads = await seenHeads(state, pr);
  if (heads.some((h) => h.sha === pr.sha && h.at === pr.updatedAt)) return;
  // Deliveries can arrive out of order: kept in GitHub's order.
  const next = [...heads, { sha: pr.sha, at: pr.updatedAt }].sort((a, b) => time(a.at) - time(b.at)).slice(-HEADS_KEPT);
  await state.set(headsKey(pr.installationId, pr.repository, pr.number), next);
}

export async function forgetHeads(state: KeyValueState, pr: PullRequestRef): Promise<void> {
  await state.set(headsKey(pr.installationId, pr.repository, pr.number), null);
}

/** The approved commit (`since`: the newer head it is not), or why none is. */
export type Approval = { sha: string; since?: string } | { refused: string };

const short = (sha: string) => sha.slice(0, 7);
const ABBREVIATED_SHA = /^[0-9a-f]{7,40}$/i;

/**
 * The commit a `/berth preview` written at `createdAt` approves, given the pull request's head now. A
 * head GitHub had in the same second as the comment counts as pushed after it: the author cannot have seen it.
 */
export async function approvedCommit(
  github: GitHub,
  state: KeyValueState,
  pr: PullRequestRef & { head: string },
  comment: { createdAt?: string; args: string[] },
): Promise<Approval> {
  const asHeadNow = `to build the head now, \`${short(pr.head)}\`, comment \`/berth preview ${short(pr.head)}\`.`;
  const [asked] = comment.args;
  if (asked !== undefined) {
    if (!ABBREVIATED_SHA.test(asked)) return { refused: `\`${asked}\` is not a commit sha; ${asHeadNow}` };
    const [sha, ...more] = (await commitsOf(github, pr, asked)).filter((c) => c.startsWith(asked.toLowerCase()));
    if (sha === undefined) return { refused: `\`${asked}\` is not a commit of #${pr.number}.` };
    if (more.length > 0) return { refused: `\`${asked}\` names several commits of #${pr.number}; give more of it.` };
    return { sha };
  }
  const written = comment.createdAt ? time(comment.createdAt) : NaN;
  const seen = (await seenHeads(state, pr)).filter((h) => time(h.at) < written).at(-1);
  if (!seen) return { refused: `Berth does not know which commit was the head when you commented; ${asHeadNow}` };
  if (seen.sha === pr.head) return { sha: seen.sha };
  if (!(await commitsOf(github, pr)).includes(seen.sha)) {
    return { refused: `\`${short(seen.sha)}\`, the head when you commented, is no longer in #${pr.number}; ${asHeadNow}` };
  }
  return { sha: seen.sha, since: pr.head };
}

/** The pull request's commits (the head first, which needs no call when it is the one looked for). */
async function commitsOf(github: GitHub, pr: PullRequestRef & { head: string }, prefix?: string): Promise<string[]> {
  if (prefix && pr.head.startsWith(prefix.toLowerCase())) return [pr.head];
  const { owner, repo } = splitRepository(pr.repository);
  const commits = await github.paginate(github.rest.pulls.listCommits, { owner, repo, pull_number: pr.number, per_page: 100 });
  return [pr.head, ...commits.map((c) => c.sha).filter((sha) => sha !== pr.head)];
}
