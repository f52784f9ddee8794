# The production-like image behind docker-compose.yml: gunicorn, Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STOREFRONT_BOOTSTRAP=0 \
    DJANGO_ENV=production

WORKDIR /app
COPY requirements-production.lock ./
# The same locked set as development and CI (less the dev tools), every file checked
# against its hash.
RUN pip install --no-cache-dir --require-hashes -r requirements-production.lock
COPY . .
RUN SECRET_KEY=build-only-collectstatic python manage.py collectstatic --noinput \
    && useradd --create-home storefront && mkdir -p /app/var && chown -R storefront /app/var
USER storefront
EXPOSE 8000
CMD ["gunicorn", "storefront_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
