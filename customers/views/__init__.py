"""Panel views of the customers area, one module per part of it:

- ``listing``: the customer list, its filters and bulk actions
- ``profile``: one customer's profile, its actions, notes, tags, create/edit/delete, merge
- ``setup``: groups, tags and custom-field settings pages
- ``transfer``: CSV import and export
"""
