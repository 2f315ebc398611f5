# syntax=docker/dockerfile:1
# The API image (default target `app`) and the same code with the MongoDB Database Tools (target
# `tools`) for migrations and backups. Written, not built, where this project is developed (no
# container engine runs there); test/operations/production-install.test.ts runs its COPY, RUN and
# CMD steps in a clean copy of the project (see README).

# The production dependencies only: no tsx, no mongodb-memory-server, no test tooling.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Node runs the TypeScript sources itself: there is no build step.
FROM node:24-bookworm-slim AS base
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json migrate-mongo-config.js ./
COPY src ./src
COPY scripts ./scripts
COPY migrations ./migrations
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 BACKUP_DIR=/backups

# mongodump / mongorestore from MongoDB's Debian repository, for `migrate` and `backup`.
FROM base AS tools
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
  && curl -fsSL https://pgp.mongodb.com/server-8.0.asc \
    | gpg --dearmor -o /usr/share/keyrings/mongodb-server-8.0.gpg \
  && echo "deb [signed-by=/usr/share/keyrings/mongodb-server-8.0.gpg] http://repo.mongodb.org/apt/debian bookworm/mongodb-org/8.0 main" \
    > /etc/apt/sources.list.d/mongodb-org-8.0.list \
  && apt-get update \
  && apt-get install -y --no-install-recommends mongodb-database-tools \
  && apt-get purge -y curl gnupg && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /backups && chown node:node /backups
USER node
CMD ["node", "scripts/backup.ts"]

FROM base AS app
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# No npm between the signal and the app: SIGTERM reaches node, which shuts down gracefully.
CMD ["node", "--max-semi-space-size=16", "src/main.ts"]
