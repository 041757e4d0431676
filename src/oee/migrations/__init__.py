"""The engine's one Alembic migration tree, shipped inside the package so an installed engine
can migrate its own database (`oee.adapters.store.migrate.migrate`)."""
