# The launch-gate GitHub Action's image, built and published to ghcr.io for each version tag by
# .github/workflows/release.yml; action.yml runs the published image, so users' jobs pull it
# instead of building it.
#
# Base: python:3.12.8-slim-bookworm, pinned by the digest of its multi-platform index so a rebuild
# starts from the same bytes. Moving to another base: take the tag's digest from
# `docker buildx imagetools inspect python:<tag>` and change both the tag here and the digest.
FROM python:3.12.8-slim-bookworm@sha256:2199a62885a12290dc9c5be3ca0681d367576ab7bf037da120e564723292a2f0

LABEL org.opencontainers.image.title="launch-gate" \
      org.opencontainers.image.description="Decides in CI whether a backend is safe to launch." \
      org.opencontainers.image.source="https://github.com/launch-gate/launch-gate" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# git reads history for the secrets check; postgresql-client brings pg_restore and psql, with
# which the restore check turns a custom dump into SQL and replays it into the `server:` the
# workflow declares (a service container: the image holds no PostgreSQL server). Debian's
# security updates replace a pinned version on the mirrors, so pinning one would break rebuilds;
# the base image digest is what is pinned, and with it Debian bookworm's client, PostgreSQL 15.
# safe.directory for the workspace is set by `gate action` itself (gate/github/action.py).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/launch-gate
# Dependencies first, in their own layer, every one pinned with its hashes (scripts/lock makes
# the file from pyproject.toml; a test fails when it drifts). A change to the gate's source
# reuses this layer.
COPY requirements/image.txt ./requirements.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.txt

COPY pyproject.toml README.md ./
COPY gate ./gate
COPY rules ./rules
# hatchling comes from the lock above: nothing unpinned is fetched to build the gate itself.
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip check \
    && rm -rf /opt/launch-gate

# No USER: GitHub runs Docker actions as the image's default user, root, and documents that
# USER breaks access to the workspace and GITHUB_* files, which belong to the runner's user.
# The runner mounts the workspace at /github/workspace and makes it the working directory.
WORKDIR /github/workspace

ENTRYPOINT ["gate"]
CMD ["action"]
