"""The CLI's commands that talk to a server (one module per area) and the offline ones."""
