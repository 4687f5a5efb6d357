"""Persistence: SQLAlchemy Core tables, the Database handle and Alembic migrations."""
