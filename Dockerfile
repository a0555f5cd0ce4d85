# syntax=docker/dockerfile:1
# domo-group-sync: a static-ish Rust binary (rustls, no OpenSSL) on distroless, as non-root.
#   docker build -t domo-group-sync .
#   docker run -p 8080:8080 -v dgs-data:/data domo-group-sync serve --config /config.toml

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: a placeholder crate with the real manifests, so this
# layer is rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
COPY sims/Cargo.toml ./sims/
RUN mkdir -p src sims/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs sims/src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src sims/src target/release/domo-group-sync* target/release/deps/domo_group_sync* \
       target/release/deps/libdomo_group_sync* target/release/.fingerprint/domo-group-sync-* \
       target/release/deps/dgs_sims* target/release/deps/libdgs_sims* target/release/.fingerprint/dgs-sims-*
# Then the service itself.
COPY src ./src
COPY sims/src ./sims/src
COPY migrations ./migrations
RUN cargo build --release --locked \
    && install -D -m 0755 target/release/domo-group-sync /out/domo-group-sync \
    && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="domo-group-sync" \
      org.opencontainers.image.description="Keeps Domo groups in step with an identity provider or HR system, from signed webhooks." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/domo-group-sync/domo-group-sync" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=build /out/domo-group-sync /usr/local/bin/domo-group-sync
# The SQLite database lives here (the default `sqlite://domo-group-sync.db` is relative).
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
VOLUME ["/data"]
# Listen on all interfaces inside the container (the default is 127.0.0.1).
ENV DGS_SERVER__LISTEN=0.0.0.0:8080
EXPOSE 8080
# distroless `nonroot`, numeric so Kubernetes can verify runAsNonRoot.
USER 65532:65532
# The image has no shell and no curl: the binary checks itself (GET /healthz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/domo-group-sync", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/domo-group-sync"]
CMD ["serve"]
