# syntax=docker/dockerfile:1

# Build: a static binary (no cgo), reproducible paths, no debug tables.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/sessiond ./cmd/server

# Run: no shell, no package manager, uid 65532. Nothing is written to the
# root filesystem with the Redis store, so it can be mounted read-only.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sessiond /sessiond
# With no REDIS_URL the filesystem store keeps its folder under here
# (writable by nonroot), so a plain `docker run` works too.
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8004
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/sessiond", "healthcheck"]
ENTRYPOINT ["/sessiond"]
