# manual-gate image: built on Debian bookworm, run from an empty image holding only what `make rootfs`
# assembles: the stripped, hardened binary, its shared-library closure, the CA certificates. No shell, no
# package manager, nothing else to patch or to exploit. Built with the Makefile's hardening flags
# (-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -pie -Wl,-z,relro,-z,now).
#
#   make image IMAGE=registry.example.com/platform/manual-gate:1.2.3
#   (= docker build --build-arg MG_VERSION=... --build-arg MG_COMMIT=... -t ... .)
#
# Pinned inputs: the build image by digest (BUILD_IMAGE; the digest debian:bookworm had when this was
# written: replace it with the one `docker buildx imagetools inspect debian:bookworm` shows to take Debian's
# updates), and each package by version (a version Debian withdraws makes the build fail rather than drift:
# update the pins then). The runtime libraries are the build stage's, copied: the runtime cannot differ
# from what the binary was linked and tested against.
#
# The Deployment (manifests/base/deployment.yaml) mounts the serving certificate at /etc/manual-gate/tls
# and passes its own arguments, replacing CMD.

ARG BUILD_IMAGE=debian:bookworm@sha256:8a8cd02c5912770b4980228a54d4aff9e4f986f1eb2525d2d371dec5232cefcc

FROM ${BUILD_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential=12.9 make=4.3-4.1 binutils=2.40-2 pkg-config=1.8.1-1 \
        libmicrohttpd-dev=0.9.75-6 libcjson-dev=1.7.15-1+deb12u4 libcurl4-openssl-dev=7.88.1-10+deb12u15 \
        libyaml-dev=0.2.5-1 uthash-dev=2.3.0-1+b1 libssl-dev=3.0.22-1~deb12u2 libgnutls28-dev=3.7.9-2+deb12u7 \
        ca-certificates=20250419~deb12u2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY webhook/ webhook/
COPY tests/rootfs.sh tests/rootfs.sh
# The build context has no .git: the version and commit come in as arguments (make image passes them).
ARG MG_VERSION=unknown
ARG MG_COMMIT=unknown
RUN make rootfs ROOTFS=/rootfs MG_VERSION="$MG_VERSION" MG_COMMIT="$MG_COMMIT"

FROM scratch
COPY --from=build /rootfs/ /
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd (there is none).
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/manual-gate", "serve"]
CMD ["--listen", ":8443", "--tls-cert", "/etc/manual-gate/tls/tls.crt", "--tls-key", "/etc/manual-gate/tls/tls.key"]
