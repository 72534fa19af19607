// Deploy from an uploaded source archive (a tar.gz with `.do/app.yaml` at its root), so Berth works without
// GitHub. Where the archive is kept and how the pipeline reads it is the composition root's (`uploads`).
import { ApiError } from "./api-error.js";
import { submit } from "./routes-actions.js";
import { byOf, route, type ApiDeps, type Route } from "./route.js";
import * as S from "./schemas.js";
import { z } from "zod";

const MAX_ARCHIVE_BYTES = 200 * 1024 * 1024;
const UploadParams = z.object({ name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "an app name: lower-case letters, digits and -, starting with a letter") });

export function uploadRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "POST",
      path: "/uploads/{name}",
      tag: "actions",
      summary: "Deploy a source archive (tar.gz, `.do/app.yaml` at its root) as the app `name`, without GitHub",
      params: UploadParams,
      query: S.AppQuery,
      rawBody: "application/gzip",
      response: S.Accepted,
      status: 202,
      handler: async ({ params, query, req, principal }) => {
        if (!deps.uploads) throw new ApiError("unavailable", "this Berth does not take source uploads");
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > MAX_ARCHIVE_BYTES) throw new ApiError("too_large", `an archive may have at most ${MAX_ARCHIVE_BYTES} bytes`);
          chunks.push(chunk);
        }
        if (size === 0) throw new ApiError("bad_request", "the body is empty: send the tar.gz of the source");
        const { app, sha, branch } = await deps.uploads.accept(params.name, query.environment, Buffer.concat(chunks));
        return submit(deps, { kind: "deploy", app, branch, sha, cause: { type: "manual", by: byOf(principal) } });
      },
    }),
  ];
}
