# syntax=docker/dockerfile:1
# Build: docker build -t admin-app .
# Migrate (a separate step, never on start): docker run --rm --env-file .env admin-app admin-app db upgrade
# Serve:  docker run -p 8000:8000 --env-file .env admin-app
# Deploying behind a proxy, on Kubernetes or with Compose: docs/deploy.md

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# Dependencies first, in their own layer: it is rebuilt only when uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY admin_app ./admin_app
# The project itself is installed editable, pointing at /app: the app finds templates/,
# static/ and alembic/ next to its package, so the runtime stage keeps the same paths.
RUN uv sync --frozen --no-dev

FROM python:3.11-slim AS runtime
# A fixed numeric user: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
WORKDIR /app
# Code and dependencies stay root-owned: the app can read them, not change them.
COPY --from=build /app/.venv ./.venv
COPY admin_app ./admin_app
COPY alembic ./alembic
COPY alembic.ini ./
COPY templates ./templates
COPY static ./static
# The only place the app writes: uploads (mount a shared volume at /app/var/media).
RUN mkdir -p /app/var/media && chown -R app:app /app/var
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    DATA_DIR=/app/var
USER 10001:10001
EXPOSE 8000
# SIGTERM starts a graceful shutdown: requests in flight get GRACEFUL_SHUTDOWN_TIMEOUT
# (30 s) to finish, so give `docker stop` a longer timeout: docker stop -t 40.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["admin-app", "serve", "--host", "0.0.0.0", "--port", "8000"]
