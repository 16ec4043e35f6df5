# The carepath image: `carepath worker` by default, `carepath web` with CMD ["web"]
# (docker-compose.yml runs both). See docs/operations.md#docker.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A system user of its own: the image never runs as root.
ARG UID=10001
RUN groupadd --system --gid "${UID}" carepath \
 && useradd --system --uid "${UID}" --gid carepath --home-dir /var/lib/carepath \
      --no-create-home --shell /usr/sbin/nologin carepath

WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY schemas ./schemas
COPY agents ./agents
# The rocksdb extra (rocksdict) for CAREPATH_STORE=rocksdb://: the worker's table lives on disk
# and a restart reads it back instead of replaying the whole changelog.
RUN pip install --no-cache-dir ".[rocksdb]" \
 && python -c "import rocksdict" \
 && mkdir -p /var/lib/carepath /var/lib/carepath-web \
 && chown carepath:carepath /var/lib/carepath /var/lib/carepath-web \
 && chmod 0700 /var/lib/carepath /var/lib/carepath-web

ENV CAREPATH_BROKER=kafka://kafka:9092 \
    CAREPATH_STORE=rocksdb:// \
    CAREPATH_DATADIR=/var/lib/carepath \
    CAREPATH_WEB_DATA=/var/lib/carepath-web \
    CAREPATH_WEB_PORT=6066

USER carepath
# The worker's tables (RocksDB) and flight recorder; a named volume takes this owner and mode.
VOLUME ["/var/lib/carepath"]
EXPOSE 6066

# /healthz of the service the container runs (agents/healthcheck.py, the standard library
# only: slim images have no curl): the worker's on CAREPATH_WEB_PORT, `web`'s on the port of
# CAREPATH_WEB_LISTEN. A non-2xx answer or no answer is unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-m", "agents.healthcheck"]

ENTRYPOINT ["carepath"]
CMD ["worker"]
