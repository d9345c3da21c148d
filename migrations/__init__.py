"""Marks this folder as the package ``service.bundled.migrations`` (see setup.py).

Alembic loads env.py and versions/ by path; this file exists so that importlib.resources finds
the folder in an editable install too, where an implicit namespace package would not be mapped.
"""
