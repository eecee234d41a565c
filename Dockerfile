# The launch-gate GitHub Action: a small image that runs `gate action` on the mounted workspace.
FROM python:3.12.8-slim-bookworm

LABEL org.opencontainers.image.title="launch-gate" \
      org.opencontainers.image.description="Decides in CI whether a backend is safe to launch." \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# git reads history for the secrets check. Debian's security updates replace a pinned version
# on the mirrors, so pinning it would break rebuilds; the base image tag is what is pinned.
# The workspace is mounted from the host and owned by the runner's user: without
# safe.directory git refuses it as "dubious ownership" (actions/runner#2033).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /github/workspace

WORKDIR /opt/launch-gate
COPY pyproject.toml README.md ./
COPY gate ./gate
COPY rules ./rules
RUN pip install --no-cache-dir . \
    && rm -rf /opt/launch-gate

# uid 1001 is the runner user on GitHub-hosted runners, so the reports the gate writes into the
# workspace and the files behind GITHUB_OUTPUT / GITHUB_STEP_SUMMARY stay writable for both.
RUN useradd --system --uid 1001 --no-create-home --shell /usr/sbin/nologin gate
USER 1001
WORKDIR /github/workspace

ENTRYPOINT ["gate"]
CMD ["action"]
