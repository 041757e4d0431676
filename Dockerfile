# syntax=docker/dockerfile:1
#
# The Order Execution Engine: one image for every role.
#
#   docker build -t oee .
#   docker run --rm -p 3000:3000 -e OEE_API_KEYS="me=$(openssl rand -hex 24)" oee
#                                              # `oee serve`: the whole engine, SQLite in /data
#   OEE_API_KEYS=... docker compose up --build # production: PostgreSQL, Redis, migrate, api, workers
#
# The image listens on every interface (OEE_HOST=0.0.0.0), so it needs API keys (OEE_API_KEYS or
# OEE_API_KEYS_FILE; docs/deployment.md): without them it refuses to start, rather than let
# anyone who reaches the port trade. OEE_ALLOW_OPEN=true serves it open anyway (a local demo).
#
# With DATABASE_URL and REDIS_URL set, the same image runs one half of production:
# `oee api` (HTTP + WebSocket), `oee worker` (executes orders) or `oee migrate` (one-shot).
# docs/deployment.md shows it on Render, Railway and Fly.io; tests/integration/test_packaging.py
# checks this file (the commands it runs exist, the health probe works against a real engine).

# --- build: a virtualenv holding the engine and its runtime dependencies (no dev extra) -------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/oee
WORKDIR /src

# Dependencies first, exactly the locked set with their hashes (requirements.lock, made by
# scripts/lock), so a code change reuses this layer and a rebuild next year installs the same bytes.
COPY requirements.lock ./
RUN /opt/oee/bin/pip install --require-hashes --no-deps --requirement requirements.lock

# Then the engine itself (the migrations ship inside the package, so `oee migrate` needs no
# source tree). Installed, not editable; pip byte-compiles it here, where it may write.
COPY src ./src
COPY pyproject.toml README.md ./
RUN /opt/oee/bin/pip install --no-deps --no-build-isolation . \
    && /opt/oee/bin/oee --help > /dev/null

# --- runtime: the virtualenv on a clean slim image, run as an unprivileged user -------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="order-execution-engine" \
      org.opencontainers.image.description="Executes Solana DEX swap orders (Raydium, Meteora) with the best route and streams every step over WebSocket." \
      org.opencontainers.image.licenses="MIT"

RUN groupadd --system --gid 10001 oee \
    && useradd --system --uid 10001 --gid oee --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin oee \
    && mkdir /data \
    && chown oee:oee /data

COPY --from=build /opt/oee /opt/oee

# PORT is what Render, Railway and Fly.io set; OEE_HOST: a container is reached through its
# network, never its loopback; OEE_DATA_DIR holds the embedded SQLite file and the engine wallet
# (wallet.json). Every other setting is an OEE_* variable (docs/deployment.md).
ENV PATH="/opt/oee/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    OEE_HOST=0.0.0.0 \
    OEE_DATA_DIR=/data

WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000

# Liveness of `oee serve` / `oee api`: GET /health on the port the process listens on. The image
# has no curl; the standard library does. Containers running `oee worker` or `oee migrate`
# serve no HTTP and turn this off (docker-compose.yml: `healthcheck: disable: true`).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/health', timeout=4)"]

# SIGTERM (Docker's default stop signal) lets the API close its connections and a worker drain
# its running orders for up to OEE_WORKER_GRACE_S seconds.
CMD ["oee", "serve"]
