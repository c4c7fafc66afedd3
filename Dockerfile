# syntax=docker/dockerfile:1
# forcehook: `docker build -t forcehook .` then
#   docker run -e KAFKA_BROKERS=... -e FORCEHOOK_API_TOKEN=... -e FORCEHOOK_SECRET_KEY=... -p 8080:8080 forcehook
# Checked without a Docker engine by test/dockerfile.integration.test.ts (see README, "How the Dockerfile is checked").

# Build: compile TypeScript with the full dependency tree.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.workflows.json ./
COPY src ./src
COPY config ./config
# The operator console's sources: `npm run build` bundles them (vite) into dist/console-app.
COPY console ./console
# The Salesforce emulator and the demo are development tools: the image holds neither, so nothing
# running in it (serve, or a command run beside it) can start an emulated org that mints tokens.
# The shipped workflow modules are compiled too: the runtime image has no TypeScript loader.
RUN npm run build \
 && rm -rf dist/emulator dist/demo \
 && npm run build:workflows

# Runtime: production dependencies and compiled JavaScript only, as a non-root user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    FORCEHOOK_HTTP_HOST=0.0.0.0 \
    FORCEHOOK_HTTP_PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
# The package's own name ("forcehook", which workflow modules import) points at the sources in a
# checkout; here it must point at the compiled library, as there are no sources in this image.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && npm pkg set 'exports[.]=./dist/index.js'
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config/default.json ./config/
COPY --from=build /app/build/workflows/config/workflows ./config/workflows
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FORCEHOOK_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/forcehook.js"]
CMD ["serve"]
