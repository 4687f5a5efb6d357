"""Resource files and folders (WeData 2025-08-06: CreateResourceFile ... ListResourceFolders), the
upload of their bytes, and the references of tasks to them.

Decisions where WeData is silent (docs/files.md):

- **Where bytes live.** One object store per server for new files (``storage/objects.py``): the
  local directory ``WEDATA_HOME/objects`` (BucketName ``wedata-local``, CosRegion ``local``) or an
  S3-compatible bucket. A file records its store, bucket and region, so files registered before a
  change of store stay reachable while that store is configured.
- **Paths.** An object of project P lives at ``/datastudio/resource/<P>/<folder>/<name>``
  (RemotePath, the ``ResourceFile`` a client sends); LocalPath is the same without the project
  id, as in WeData's example. A project registers only objects under its own prefix; every
  segment is a plain name (no ``..``, no absolute escape), and ResourceName is one segment.
- **What a file is.** Its size and sha256, read when it is registered (or taken from the upload
  route's record of the same object) and refreshed by every upload to its path and by
  UpdateResourceFile. A run stages exactly that content (``scheduler/staging.py``); an object
  changed behind the server's back fails the run with a message instead of running other bytes.
- **Tasks.** Shell (35) and Python (30) tasks name resource files in the ext key
  ``resourceFiles``; Shell form mode (38) names its package in ``ftp.file.name``
  (``executors/tasktypes.py``). DeleteResourceFile answers ``ResourceInUse`` while a submitted
  version names the file; a non-empty folder cannot be deleted (``FailedOperation``).
"""
