"""Writes on customers, one module per area (each public function validates its rule,
writes in one transaction and records an activity event):

- ``customers``: create, edit and delete profiles
- ``tags``: the store's tags, and tags on customers
- ``groups``: customer groups and their discounts
- ``notes``: internal notes
- ``custom_fields``: the store's custom fields and their values
- ``accounts``: storefront accounts (block, confirm, sign in as the customer)
- ``addresses``: saved addresses
- ``merge``: merging duplicate profiles
- ``bulk``: bulk actions of the customer list
- ``activity``, ``store_setup``: what the others share
"""
