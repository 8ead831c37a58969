# A Java service with secrun as its entrypoint. secrun is the standalone executable
# (dist/secrun-linux-x64: Node and secrun in one file, needing only glibc), built in the first stage
# and copied alone into the runtime image: the service image does not become a Node image.
# Build from the secrun repository root: docker build -f examples/Dockerfile.java -t payments .

# 1. secrun, built from this repository (there is no secrun package on the npm registry).
FROM node:24-bookworm AS secrun
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm run build:exe

# 2. An image holding only the executable, for the Kubernetes init container that copies it into
#    an emptyDir (examples/kubernetes-init.yaml): docker build --target secrun-image -t secrun .
FROM debian:bookworm-slim AS secrun-image
COPY --from=secrun /src/dist/secrun-linux-x64 /usr/local/bin/secrun

# 3. The service. Any glibc image works: eclipse-temurin (Ubuntu), gcr.io/distroless/java21-debian12.
FROM eclipse-temurin:21-jre
COPY --from=secrun /src/dist/secrun-linux-x64 /usr/local/bin/secrun
COPY app.jar /app/app.jar

# Run as a dedicated non-root user: root and the same uid can read /proc/<pid>/environ.
USER 10001

# secrun execs java when no lease needs renewing (same PID, no agent left in memory) and
# supervises it otherwise. Run with `docker run --init` (or tini) so orphans are reaped.
ENTRYPOINT ["/usr/local/bin/secrun", "run", "--"]
CMD ["java", "-jar", "/app/app.jar"]

# docker run --init \
#   -e VAULT_ADDR=https://vault.internal:8200 -e VAULT_TOKEN \
#   -e SPRING_DATASOURCE_USERNAME=vault:database/creds/payments#username \
#   -e SPRING_DATASOURCE_PASSWORD=vault:database/creds/payments#password \
#   -e STRIPE_API_KEY=awssm:prod/payments/stripe#api_key \
#   payments
