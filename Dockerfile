# outage-coordinator: one container, one uvicorn worker, SQLite in the /app/var volume by default.
#
#   docker build -t outage-coordinator .
#   docker run -p 8000:8000 -v outage-var:/app/var outage-coordinator
#   docker run --rm -v outage-var:/app/var outage-coordinator \
#       outage-coordinator tokens create --role dispatcher --name "城调 值班"
#
# PostgreSQL instead: -e OUTAGE_DATABASE_URL=postgresql+asyncpg://user:password@host/db
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The dependencies first, read from pyproject.toml, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The service reads migrations/ and playbooks/ beside its `service` package
# (service.config.PROJECT_ROOT), so the checkout stays in /app and is installed in place:
# an editable install imports /app/service, and PROJECT_ROOT is /app.
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var \
    && chown app:app /app/var

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
