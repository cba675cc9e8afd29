# A small non-root image of codeartifact-local (README "Docker").
#   docker build -t codeartifact-local .
#   docker run --rm -p 127.0.0.1:4580:4580 -v ca-data:/data codeartifact-local
# Bind the published port to 127.0.0.1: the default identity is test/test. With another host
# port, set CODEARTIFACT_LOCAL_PUBLIC_URL to the URL clients use (-e …=http://localhost:8080);
# in a compose network, to http://SERVICE:4580. A host folder mounted at /data must be
# writable by uid 10001. tests/e2e/test_docker.py checks these properties.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: built against stand-in sources, so a change to the
# sources rebuilds only the crate itself. The manifest names test and bench targets; cargo
# wants a file for each.
COPY Cargo.toml Cargo.lock ./
COPY api-models ./api-models
RUN mkdir -p src tests/it benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs tests/it/main.rs \
    && for bench in $(sed -n '/^\[\[bench\]\]/,/^name/s/^name = "\(.*\)"$/\1/p' Cargo.toml); do \
         echo 'fn main() {}' > "benches/$bench.rs"; done
RUN cargo build --locked --release --bin codeartifact-local
COPY src ./src
COPY tests ./tests
COPY benches ./benches
# The real sources may be older than the stand-ins' build: make cargo see them as changed.
RUN touch src/main.rs src/lib.rs \
    && cargo build --locked --release --bin codeartifact-local \
    && strip target/release/codeartifact-local

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin codeartifact \
    && mkdir -p /data && chown codeartifact /data
# The root certificates https:// external connections trust: the build image's bundle
# (its ca-certificates package), without installing the package and its openssl here.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/target/release/codeartifact-local /usr/local/bin/codeartifact-local
USER 10001
# Inside the container listen on all interfaces; the public URL is what clients use. Change
# the address with these variables (not a --listen argument), so the health check follows it.
ENV CODEARTIFACT_LOCAL_LISTEN=0.0.0.0:4580 \
    CODEARTIFACT_LOCAL_DATA_DIR=/data \
    CODEARTIFACT_LOCAL_PUBLIC_URL=http://localhost:4580
VOLUME ["/data"]
EXPOSE 4580
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["codeartifact-local", "healthcheck"]
ENTRYPOINT ["codeartifact-local"]
