"""SQL on data sources' databases: connections (``connections.py``); the SQL executor joins it."""
