"""Actions of this group (being written)."""
