# One image for both apps: `node packages/api/dist/main.js` or `node packages/worker/dist/main.js`.
FROM node:20-bookworm-slim AS build
ENV TURBO_TELEMETRY_DISABLED=1
RUN npm install --global -E pnpm@12.4.2
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.base.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/api/package.json packages/api/
COPY packages/worker/package.json packages/worker/
# The command line is built with the rest (turbo builds every package); it is not in the image.
COPY packages/cli/package.json packages/cli/
RUN pnpm install --frozen-lockfile
COPY packages packages
RUN pnpm run build

FROM node:20-bookworm-slim AS prod-deps
RUN npm install --global -E pnpm@12.4.2
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY packages/api/package.json packages/api/
COPY packages/worker/package.json packages/worker/
RUN pnpm install --frozen-lockfile --prod

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app ./
COPY --from=build --chown=node:node /app/packages/shared/dist packages/shared/dist
COPY --from=build --chown=node:node /app/packages/api/dist packages/api/dist
COPY --from=build --chown=node:node /app/packages/worker/dist packages/worker/dist
USER node
# 8080: the API; 8081: the worker's probes and metrics.
EXPOSE 8080 8081
CMD ["node", "packages/api/dist/main.js"]
