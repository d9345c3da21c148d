"""Marks this folder as the package ``service.bundled.playbooks`` (see setup.py).

The playbooks are YAML data; this file exists so that importlib.resources finds the folder in an
editable install too, where an implicit namespace package would not be mapped.
"""
