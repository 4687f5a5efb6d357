"""Code studio (data exploration): folders and files, their submitted versions, and code
permissions (WeData 2025-08-06: CreateCodeFile ... ListCodeFolderContents, CreateCodePermissions
... GetMyCodeMaxPermission). docs/code-studio.md is the user's page.

The domain owns ``code_nodes``, ``code_versions`` and ``code_grants``
(``storage/code_tables.py``); it depends on ``projects`` only (roles). A Notebook task (132)
whose ``notebook.source`` is ``codeStudio`` runs a file of it: the engine reads the file's
current version from the tables (``scheduler/notebooks.py``), the executor runs it headless
with nbclient (``executors/notebook_runner.py``).

Modules: ``tree.py`` (the shared tree and the private trees under ``/~``, the node records),
``access.py`` (the levels and THE permission check other code calls), ``content.py`` (text,
sizes, notebook validation, CodeFileConfig), ``files.py`` and ``folders.py`` (the actions),
``grants.py`` (the permission actions).

Decisions where WeData is silent:

- **Scope.** The 2025-08-06 requests carry no ``AccessScope``, so the path decides: ``/~`` is
  the caller's private folder (``PRIVATE``: its owner alone sees it, administrators included),
  everything else is the project's shared tree (``SHARED``, the scope of every WeData example).
- **Content** is plain text, as in WeData's examples, kept in the database rather than in the
  object store: GetCodeFile returns it inline, a save and its version are one transaction (no
  object without its row, no row without its object), and files are small (at most
  ``WEDATA_CODE_FILE_MAX_BYTES``, 2 MiB). ``.ipynb`` content must be a valid notebook.
- **Versions.** A save (UpdateCodeFile) changes the working copy; ``SubmitAction`` true also
  records the saved content and config as a new version, whose id ``VersionId`` then shows
  (null until the first submit). A Notebook task runs the latest submitted version, or the
  working copy of a file never submitted.
- **Paths** follow ``services/folders.py`` (one segment names, no ``/``, ``.`` or ``..``, at
  most 128 characters); ``ParentFolderPath`` ``""`` or ``/`` is the root; ``~`` is reserved as
  a root child. A folder must be empty to be deleted (``FailedOperation``).
- **Permissions**: ``access.py``; grants: ``grants.py``.
"""
