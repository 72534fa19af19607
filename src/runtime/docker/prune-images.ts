// Removing an app's old images once the store has forgotten the deployments that built them. Only images
// Berth built for that app (its labels, and this Berth's own) are candidates; pulled `image:` sources are
// never touched, and an image a container still uses stays (the engine refuses, and that is fine).
import type { DockerContext } from "./docker-context.js";
import { LABEL } from "./labels.js";

export async function pruneImages(ctx: Pick<DockerContext, "docker" | "own" | "log">, keep: string[], appId: string): Promise<string[]> {
  const kept = new Set(keep);
  const images = await ctx.docker.listImages({
    filters: { label: [`${LABEL.managed}=true`, `${LABEL.app}=${appId}`, ...ctx.own] },
  });
  const removed: string[] = [];
  for (const image of images) {
    const names = [image.Id, ...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])];
    if (names.some((n) => kept.has(n))) continue;
    try {
      await ctx.docker.getImage(image.Id).remove();
      removed.push(image.RepoTags?.[0] ?? image.Id);
    } catch (err) {
      // 409: a container (running, or a stopped one kept for its logs) still uses it.
      if ((err as { statusCode?: number }).statusCode !== 409) ctx.log.warn({ err, image: image.Id, appId }, "old image not removed");
    }
  }
  if (removed.length > 0) ctx.log.info({ appId, removed }, "old images removed");
  return removed;
}
