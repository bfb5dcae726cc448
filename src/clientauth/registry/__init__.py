"""Client registries beyond the in-memory one: a JSON file with hot reload
(:mod:`clientauth.registry.file`, :class:`FileRegistry`) and a SQL database
(:mod:`clientauth.registry.sql`, :class:`SQLRegistry`, SQLAlchemy).

The :class:`~clientauth.Client` value, the :class:`~clientauth.ClientRegistry` protocol and
:class:`~clientauth.MemoryRegistry` stay in :mod:`clientauth.clients`, where they are imported
from. The former module names ``clientauth.registry_file`` and ``clientauth.registry_sql`` name
these same modules. Nothing is imported here, so that ``import clientauth`` never loads
SQLAlchemy.
"""
