// How the REST API names a repository and says that something in it does not exist.

export function splitRepository(repository: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length > 0) throw new Error(`"${repository}" is not an owner/name repository`);
  return { owner, repo };
}

export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { status?: number }).status === 404;
}
