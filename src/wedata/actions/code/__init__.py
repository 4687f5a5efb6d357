"""Code studio (WeData 2025-08-06: CreateCodeFile ... ListCodeFolderContents, CreateCodePermissions
... GetMyCodeMaxPermission).

Rules: ``services/code/`` (decisions in its ``__init__.py``); answers: ``wire.py``.
"""
