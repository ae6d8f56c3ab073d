# syntax=docker/dockerfile:1
# ECU FHIR server. The build stage compiles the TypeScript sources to dist/
# (`npm run build`: the server and its CLIs); the image runs that JavaScript
# with production dependencies only. The benchmark's server entry point
# (bench/server.ts, which can run without authentication) is not built, so it
# is not in the image.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY scripts ./scripts
COPY src ./src
COPY migrations ./migrations
COPY fhir-profiles ./fhir-profiles
COPY examples ./examples
# tsconfig.build.json also lists bench/server.ts; absent here, tsc simply has nothing to compile there.
RUN npm run build && rm -rf dist/bench && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Without DATABASE_URL the server runs an embedded PostgreSQL in /data; give it a volume.
# The CLIs run from dist/ too, e.g. `docker run --rm -v ecu-data:/data ecu-fhir node dist/src/auth/token-cli.js --role clinician`.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# As `npm start` without its prestart build (see README, "Memory").
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "--expose-gc", "dist/src/main.js"]
