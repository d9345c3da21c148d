# outage-coordinator: one container, one uvicorn worker, SQLite in the /app/var volume by default.
#
#   docker build -t outage-coordinator .
#   docker run -p 8000:8000 -v outage-var:/app/var outage-coordinator
#   docker run --rm -v outage-var:/app/var outage-coordinator \
#       outage-coordinator tokens create --role dispatcher --name "城调 值班"
#
# PostgreSQL instead: -e OUTAGE_DATABASE_URL=postgresql+asyncpg://user:password@host/db
# Replicas may start together: each runs `db upgrade`, and a PostgreSQL advisory lock lets one
# migrate while the others wait (service/store/migrate.py).

# The builder: uv.lock's versions and the service's wheel, installed into /opt/venv.
# Both stages use one image, so the interpreter the venv points at is there in the final one.
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv

WORKDIR /src

# uv itself, at the version and hashes uv.lock holds for it.
COPY uv.lock ./
COPY tools/locked_requirement.py tools/
RUN python tools/locked_requirement.py uv | pip install --require-hashes -r /dev/stdin

# The locked dependencies alone first, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN uv sync --locked --no-install-project

# Then the service as a wheel (its code, playbooks and migrations), on top of exactly those.
COPY setup.py ./
COPY models/ models/
COPY service/ service/
COPY playbooks/ playbooks/
COPY migrations/ migrations/
RUN uv build --wheel --out-dir /tmp/dist \
    && uv pip install --python /opt/venv/bin/python --no-deps /tmp/dist/*.whl \
    && uv pip check --python /opt/venv/bin/python

# The image: the interpreter and the venv; no source tree, no uv, no tests or benchmarks.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# Pango (and HarfBuzz's subsetter) for WeasyPrint, which prints the evaluation report as PDF.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var \
    && chown app:app /app/var

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app

# The database and the bootstrap admin token live in /app/var, the one writable folder.
ENV OUTAGE_DATABASE_URL=sqlite+aiosqlite:////app/var/coordinator.db \
    OUTAGE_VAR_DIR=/app/var
VOLUME ["/app/var"]

USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Migrate, then hand the process over to uvicorn so that it receives docker stop's SIGTERM.
CMD ["sh", "-c", "outage-coordinator db upgrade && exec outage-coordinator serve --host 0.0.0.0 --port 8000"]
