# manual-gate image: built on Debian bookworm, run on bookworm-slim with only the runtime libraries
# (the same Debian packages the build links against), as a non-root user.
#
#   docker build -t manual-gate:0.1.0 .
#
# The Deployment (manifests/base/deployment.yaml) mounts the serving certificate at
# /etc/manual-gate/tls and passes its own arguments, replacing CMD.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config libmicrohttpd-dev libcjson-dev libcurl4-openssl-dev libyaml-dev \
        uthash-dev libssl-dev libgnutls28-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY webhook/ webhook/
RUN make build/manual-gate

FROM debian:bookworm-slim
# libcurl4 is the OpenSSL build of libcurl; libmicrohttpd12 brings HTTPS through libgnutls30.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libcjson1 libcurl4 libyaml-0-2 libssl3 libgnutls30 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 manual-gate \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin manual-gate
COPY --from=build /src/build/manual-gate /usr/local/bin/manual-gate
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/manual-gate", "serve"]
CMD ["--listen", ":8443", "--tls-cert", "/etc/manual-gate/tls/tls.crt", "--tls-key", "/etc/manual-gate/tls/tls.key"]
