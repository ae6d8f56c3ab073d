# syntax=docker/dockerfile:1
# ECU FHIR server. Node 24 runs the TypeScript sources directly (type stripping),
# so the image needs production dependencies and the sources, no build output.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json openapi.yaml ./
COPY src ./src
COPY migrations ./migrations
COPY fhir-profiles ./fhir-profiles
# Without DATABASE_URL the server runs an embedded PostgreSQL in /data; give it a volume.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Same node flags as `npm start` (see README, "Memory").
CMD ["node", "--max-semi-space-size=16", "--expose-gc", "src/main.ts"]
