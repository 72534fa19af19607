# Berth's own container image: the compiled sources on Node 20, run as the `node` user with its state in /data.
# Run it on the host's network with the engine's socket (docs/container.md):
#   docker run -d --network host -v berth-data:/data -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" --env-file .env berth
# NODE_IMAGE is any Node 20 image with a shell and a `node` user (uid 1000); CI builds on one made from the
# host's files, having no registry to pull from (.ci/build-image).
ARG NODE_IMAGE=node:20-bookworm-slim

# Everything the running image has besides Berth's files. A stage of its own so CI can add files it compiled.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production BERTH_DATA_DIR=/data HOST=0.0.0.0 BERTH_ROUTER_HOST=0.0.0.0
WORKDIR /app
# A named volume mounted here starts as a copy of this directory, owner and mode included.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
VOLUME /data
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/bin/healthcheck.js"]
USER node
# Exec form: node is PID 1 and gets `docker stop`'s SIGTERM itself, which drains deployments and stops
# (BERTH_SHUTDOWN_GRACE, default 30 s, plus 10 s: give `docker stop --time 45` or more).
CMD ["node", "dist/main.js"]

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev

# .ci/build-image builds from here on with these files from its own context (the lines below, `--from=build
# /app/` dropped): keep each one a COPY.
FROM runtime
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json app.yml ./
COPY bin ./bin
