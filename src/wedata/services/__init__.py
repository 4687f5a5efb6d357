"""Domain rules in plain Python. Services raise ``services.errors.*``, never wire codes."""
