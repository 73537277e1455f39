# syntax=docker/dockerfile:1
# The same install as the npm tarball: build and pack in one stage, `npm install -g` the
# tarball in the next, run as an unprivileged user. No Docker engine on the build machines:
# the tarball install itself is tested (test/packaging/tarball.test.ts).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md .env.example inventory.example.yml ./
COPY bin ./bin
COPY src ./src
# prepack builds dist/.
RUN npm pack --pack-destination /tmp && mv /tmp/redis-failover-bot-*.tgz /tmp/redis-failover-bot.tgz

FROM node:20-bookworm-slim
ENV NODE_ENV=production
COPY --from=build /tmp/redis-failover-bot.tgz /tmp/
RUN npm install -g --omit=dev --no-audit --no-fund /tmp/redis-failover-bot.tgz \
    && rm /tmp/redis-failover-bot.tgz && npm cache clean --force \
    && mkdir -p /var/lib/redis-failover-bot /etc/redis-failover-bot \
    && chown node:node /var/lib/redis-failover-bot
USER node
WORKDIR /var/lib/redis-failover-bot
ENV INVENTORY_FILE=/etc/redis-failover-bot/inventory.yml \
    STATE_DIR=/var/lib/redis-failover-bot/state \
    PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["redis-failover-bot"]
