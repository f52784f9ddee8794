"""CSV import and export of orders (native format) and of ordered products."""
