# What a user would write by hand for examples/hello-node: dependencies in their
# own cached layer, a cache mount for npm, the sources last, a non-root user.
FROM sous-local/node:20 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund && mkdir -p node_modules

FROM sous-local/node:20
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json server.js ./
USER 10001
EXPOSE 8080
ARG APP_VERSION
ENV APP_VERSION=$APP_VERSION
CMD ["node", "server.js"]
