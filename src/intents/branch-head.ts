// Deliveries arrive late and out of order, and a deploy may wait for checks: only the commit that is its
// branch's head as GitHub has it now deploys, so an older commit never replaces a newer one.
import type { GitHub } from "../github/octokit.js";
import { splitRepository } from "../github/repository.js";

export async function isBranchHead(github: GitHub, repository: string, branch: string, sha: string): Promise<boolean> {
  const { owner, repo } = splitRepository(repository);
  const { data } = await github.rest.repos.getBranch({ owner, repo, branch });
  return data.commit.sha === sha;
}
