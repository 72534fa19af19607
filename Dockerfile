# Berth's own container image. Runs the compiled sources on the current Node LTS.
# The Docker runtime needs the engine's socket: docker run -v /var/run/docker.sock:/var/run/docker.sock ...
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production BERTH_DATA_DIR=/data HOST=0.0.0.0 BERTH_ROUTER_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json app.yml ./
COPY bin ./bin
VOLUME /data
EXPOSE 3000 8080
USER node
CMD ["node", "dist/main.js"]
