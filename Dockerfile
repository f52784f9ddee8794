# The production-like image behind docker-compose.yml: gunicorn, Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STOREFRONT_BOOTSTRAP=0 \
    DJANGO_ENV=production

WORKDIR /app
COPY pyproject.toml ./
# Install the pinned dependencies listed in pyproject.toml into the image's Python.
RUN python - <<'PY' > /tmp/requirements.txt && pip install --no-cache-dir -r /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
COPY . .
RUN SECRET_KEY=build-only-collectstatic python manage.py collectstatic --noinput \
    && useradd --create-home storefront && mkdir -p /app/var && chown -R storefront /app/var
USER storefront
EXPOSE 8000
CMD ["gunicorn", "storefront_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
