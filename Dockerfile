# gupy-rubeus-bridge: build stage with compilers (better-sqlite3 compiles when no prebuilt binary
# fits), runtime stage with only Node, the compiled service and its production dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Keep the compiled addons, drop their sources and intermediate objects.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
 && for d in node_modules/better-sqlite3*; do rm -rf "$d/deps" "$d/src" "$d/build/Release/obj.target" "$d/build/Release/.deps" "$d/build/deps"; done

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_PATH=/data/bridge.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json mapping.example.json ./
COPY migrations ./migrations
# A non-root user owning only the data volume; the command line on the PATH.
RUN groupadd --system bridge \
 && useradd --system --gid bridge --home-dir /app --shell /usr/sbin/nologin bridge \
 && mkdir -p /data && chown bridge:bridge /data \
 && chmod +x dist/cli.js && ln -s /app/dist/cli.js /usr/local/bin/gupy-rubeus-bridge
USER bridge
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: stop accepting, finish in-flight work, close SQLite.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
