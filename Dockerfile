# A small non-root image of codeartifact-local.
#   docker build -t codeartifact-local .
#   docker run -p 4580:4580 -v ca-data:/data codeartifact-local

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY api-models ./api-models
COPY src ./src
# The manifest names test and bench targets; cargo wants their files present.
COPY tests ./tests
COPY benches ./benches
RUN cargo build --locked --release --bin codeartifact-local \
    && strip target/release/codeartifact-local

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin codeartifact \
    && mkdir -p /data && chown codeartifact /data
COPY --from=build /src/target/release/codeartifact-local /usr/local/bin/codeartifact-local
USER codeartifact
# Inside the container listen on all interfaces; the public URL is what clients outside use.
ENV CODEARTIFACT_LOCAL_LISTEN=0.0.0.0:4580 \
    CODEARTIFACT_LOCAL_DATA_DIR=/data \
    CODEARTIFACT_LOCAL_PUBLIC_URL=http://localhost:4580
VOLUME ["/data"]
EXPOSE 4580
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
    CMD ["codeartifact-local", "healthcheck"]
ENTRYPOINT ["codeartifact-local"]
