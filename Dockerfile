# CrowdSafe image: web (ASGI), Celery workers and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libglib2.0-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 crowdsafe

WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/base.txt -c requirements/constraints.txt \
 && pip install --no-deps -r requirements/ultralytics.txt
COPY . .
RUN SECRET_KEY=build-only-not-a-secret-$(head -c 48 /dev/urandom | base64 | tr -dc a-z0-9) \
    DEBUG=false python manage.py collectstatic --no-input -v 0 \
 && mkdir -p /app/var/media && chown -R crowdsafe /app/var
USER crowdsafe
EXPOSE 8000
# uvicorn trusts X-Forwarded-For/-Proto only from FORWARDED_ALLOW_IPS (its own variable), never from anyone.
ENV FORWARDED_ALLOW_IPS=127.0.0.1
CMD ["uvicorn", "crowdsafe.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
