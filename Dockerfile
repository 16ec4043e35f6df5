# The carepath worker image (used by docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY schemas ./schemas
COPY agents ./agents
RUN pip install --no-cache-dir .
ENV CAREPATH_BROKER=kafka://kafka:9092 \
    CAREPATH_STORE=rocksdb:// \
    CAREPATH_DATADIR=/var/lib/carepath
RUN pip install --no-cache-dir "faust-streaming[rocksdict]"
VOLUME /var/lib/carepath
ENTRYPOINT ["carepath"]
CMD ["worker"]
