# mcp-gateway as a container beside the host's Docker engine.
#
#   docker build -t mcp-gateway .
#   docker run -d --init --stop-timeout 20 --cap-drop ALL --security-opt no-new-privileges \
#     -p 127.0.0.1:8000:8000 -e GATEWAY_ALLOW_UNAUTHENTICATED=true \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v "$PWD/servers.yaml:/etc/mcp-gateway/servers.yaml:ro" -v mcp-gateway-data:/data mcp-gateway
#
# The gateway runs MCP servers as sibling containers through the mounted socket, which is
# root-equivalent on the host: see README.md, "Deployment". docker-compose.yml does all of this.
# It listens on 0.0.0.0 in here, so without gateway.auth it starts only when told that nothing
# else can reach the port (GATEWAY_ALLOW_UNAUTHENTICATED=true, with the port on 127.0.0.1 only).

# Any image with Node.js 24, npm and /bin/sh (the tests build on a locally made one). Without
# Docker Hub: --build-arg NODE_IMAGE=<a local or mirrored image> (README.md, "Deployment").
ARG NODE_IMAGE=node:24-slim

# Build: all dependencies, compile, then drop the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no dependency needs one (and slim images have no compiler to run them).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-ui.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Run: the compiled gateway and its production dependencies, as the image's unprivileged user.
FROM ${NODE_IMAGE}
# The C allocator: glibc serves blocks of 16 KiB and more (request bodies, socket reads, parser
# buffers) from their own mappings, returned to the system when freed, and keeps at most two heap
# arenas, instead of arenas that stay resident after a burst of large bodies (README.md,
# "Performance": memory under abuse).
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=16384 \
    MALLOC_ARENA_MAX=2 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    MCP_GATEWAY_CONFIG=/etc/mcp-gateway/servers.yaml \
    STATE_DIR=/data
WORKDIR /opt/mcp-gateway
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# No servers.yaml is baked in (yours may hold secrets): mount it at
# /etc/mcp-gateway/servers.yaml, read-only, as docker-compose.yml does.
# `node` (uid 1000) comes with the official Node images. A named volume on /data starts as a
# copy of this directory, so it is the gateway's to write.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
# No curl in slim images: Node's own fetch. /healthz answers 200 while the gateway serves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GATEWAY_PORT || 8000) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# On SIGTERM the gateway drains calls for up to 10 s, then stops its servers: stop with -t 20.
ENTRYPOINT ["node", "/opt/mcp-gateway/dist/cli.js"]
CMD ["serve"]
