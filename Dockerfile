# Dockerfile — one image with every Sluice binary (sluice-segstore,
# sluice-mqtt, sluice-kafka, sluice-ctl, sluice-dump, sluice-bench).
#
#   docker build -t sluice:local .
#   docker compose up -d            (docker-compose.yml: the whole topology)
#
# The build stage uses exactly what the README's tools/quickstart.sh uses:
# tools/deps.sh installs the Debian build packages, then the same CMake
# configure (Ninja, Release, in build/) and ninja.  A test
# (integration.cluster_deploy) keeps these commands and the README's in
# step.  The runtime stage has the shared libraries the binaries link
# against and nothing else, and runs as the unprivileged user `sluice`.

# ---- build ------------------------------------------------------------------
FROM debian:12-slim AS build
WORKDIR /src
# deps.sh first, alone: the package layer is cached until it changes.
COPY tools/deps.sh tools/deps.sh
RUN bash tools/deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    && ninja -C build -j"$(nproc)"

# ---- runtime ----------------------------------------------------------------
FROM debian:12-slim
# The libraries the binaries are linked against (readelf -d NEEDED):
# libuv, nng, libaio, xxhash, ISA-L, libsodium, OpenSSL (libcrypto),
# libcurl (S3 tier), librdkafka and libmosquitto (sluice-bench).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libuv1 libnng1 libaio1 libxxhash0 libisal2 libsodium23 libssl3 \
        libcurl4 librdkafka1 libmosquitto1 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so that every container sharing the IPC socket volume
# is the same user (segstore's socket is 0600 by default) and volumes
# keep one owner across image versions.
RUN groupadd --system --gid 10001 sluice \
    && useradd --system --uid 10001 --gid sluice --no-create-home \
        --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
    && install -d -o sluice -g sluice -m 0750 /var/lib/sluice /run/sluice
COPY --from=build \
    /src/build/bin/sluice-segstore /src/build/bin/sluice-mqtt \
    /src/build/bin/sluice-kafka /src/build/bin/sluice-ctl \
    /src/build/bin/sluice-dump /src/build/bin/sluice-bench \
    /usr/local/bin/
# Fail the build if a runtime library is missing.
RUN ! ldd /usr/local/bin/sluice-* | grep 'not found'
USER sluice
WORKDIR /var/lib/sluice
# /var/lib/sluice: segstore's data dir (frontends mount it read-only, at the
# same path: they map segment files for reads).  /run/sluice: the IPC
# sockets, shared by segstore and every frontend.
VOLUME ["/var/lib/sluice", "/run/sluice"]
ENV SLUICE_SEGSTORE=ipc:///run/sluice/segstore.sock
# MQTT, Kafka, and /metrics (docker-compose.yml sets metrics.listen).
EXPOSE 1883 9092 9470
STOPSIGNAL SIGTERM
CMD ["sluice-segstore", "--data", "/var/lib/sluice", "--ipc", "ipc:///run/sluice/segstore.sock"]
