// The branch a repository deploys production from: the one the spec on its default branch names or, when that
// spec is broken, absent or silent about it, the one in Berth's record of the app. Never the one a pushed
// commit's spec names: anyone who can push any branch writes that.
import type { ParsedSpec } from "../github/read-spec.js";
import { deployBranch } from "./spec-view.js";

export async function productionBranch(
  repository: string,
  atDefault: ParsedSpec | null,
  recorded: () => Promise<string | undefined>,
): Promise<string | undefined> {
  return (atDefault?.spec && deployBranch(atDefault.spec, repository)) ?? (await recorded());
}
