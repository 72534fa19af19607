// Which of a spec's components a repository and branch drive.
import type { SpecComponentView, SpecView } from "../core/ports.js";

function components(spec: SpecView): SpecComponentView[] {
  return [
    ...(spec.services ?? []),
    ...(spec.workers ?? []),
    ...(spec.jobs ?? []),
    ...(spec.static_sites ?? []),
    ...(spec.functions ?? []),
  ];
}

const sameRepo = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** Components built from `repository` at `branch` (`onPush`: only those with `deploy_on_push: true`). */
export function componentsOn(
  spec: SpecView,
  repository: string,
  branch: string,
  options: { onPush?: boolean } = {},
): SpecComponentView[] {
  return components(spec).filter(
    (c) =>
      sameRepo(c.github?.repo, repository) &&
      c.github?.branch === branch &&
      (!options.onPush || c.github?.deploy_on_push === true),
  );
}

/** The branch this repository deploys from, as the spec names it (the first github component wins). */
export function deployBranch(spec: SpecView, repository: string): string | undefined {
  return components(spec).find((c) => sameRepo(c.github?.repo, repository) && c.github?.branch)?.github?.branch;
}

/** Whether any component is built from this repository (previews need one). */
export function buildsFrom(spec: SpecView, repository: string): boolean {
  return components(spec).some((c) => sameRepo(c.github?.repo, repository));
}
