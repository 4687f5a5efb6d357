"""Resource files and folders (WeData 2025-08-06: CreateResourceFile ... ListResourceFolders), and
the signed upload route (``upload.py``, POST /resources/upload).

Rules: ``services/resources/`` (decisions in its ``__init__.py``); answers: ``wire.py``.
"""
