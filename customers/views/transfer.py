"""CSV import and export in the browser."""

urlpatterns: list = []
