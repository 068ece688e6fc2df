# The web apps behind nginx, with the four services proxied under /api/<service>/.
# Build from the repository root:  docker build -f deploy/docker/web.Dockerfile -t gridcase-web .
# The deployment's settings (OpenID Connect issuer, tile server) are /usr/share/nginx/html/config.json:
# mount the deployment's own copy there.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim
ARG NGINX_IMAGE=nginx:1.28.0

FROM ${NODE_IMAGE} AS build
WORKDIR /web
COPY services/web/package.json services/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services/web/ ./
RUN npm run build

FROM ${NGINX_IMAGE} AS runtime
COPY --from=build /web/dist /usr/share/nginx/html
COPY deploy/nginx/site.conf deploy/nginx/proxy.conf /etc/nginx/gridcase/
COPY deploy/nginx/container.conf /etc/nginx/conf.d/default.conf
EXPOSE 8081
