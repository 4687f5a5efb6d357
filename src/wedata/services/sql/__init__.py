"""SQL scripts of data exploration: folders, scripts, and their runs with results.

The domain owns the ``sql_nodes``, ``sql_runs`` and ``sql_run_statements`` tables
(``storage/sql_tables.py``) and the thirteen actions CreateSQLScript, GetSQLScript,
UpdateSQLScript, DeleteSQLScript, CreateSQLFolder, GetSQLFolder, UpdateSQLFolder,
DeleteSQLFolder, ListSQLFolderContents, RunSQLScript, GetSQLRunResult, StopSQLScriptRun and
ListSQLScriptRuns. It depends on ``datasources`` (may the project use the source? its pooled
engine) and ``projects``; statements run through the one SQL executor
(``executors/sql/runner.py``, reached only from ``execute.py``).

Modules: ``tree.py`` (the shared and private trees, rights), ``folders.py`` and ``scripts.py``
(the folder and script actions), ``content.py`` (Base64/raw text, sizes, ScriptConfig),
``targets.py`` (the source a script runs on), ``runs.py`` (the run actions), ``queue.py`` (the
worker: per-group concurrency, restart recovery, expiry), ``execute.py`` (one run through the
executor), ``records.py`` (what the actions render; the run states).

Decisions where WeData is silent:

- **Trees** (``tree.py``): ``AccessScope`` ``SHARED`` (the default, as in every WeData
  example) puts a node in the project's shared tree, which every member sees and edits;
  ``PRIVATE`` in the caller's own tree, which nobody else sees (administrators included). Paths
  are unique per tree, folders and scripts together. Renaming, moving (``UpdateSQLFolder``
  ``AccessScope``) and deleting a shared node takes its owner or a project administrator.
  A folder moves to the private tree only when everything below it is its owner's.
- **Names and paths** follow ``services/folders.py`` (``FolderName``/``ScriptName`` one
  segment of at most 128 characters, no ``/``); ``ParentFolderPath`` ``""`` or ``/`` is the
  root and is shown ``""`` for a root child, as in WeData's examples. A folder must be empty to
  be deleted (``FailedOperation``). ``ListSQLFolderContents`` returns the whole tree below the
  path (folders with their ``Children``), folders first, by name; ``Keyword`` keeps the nodes
  whose name contains it (any case) and the folders on the way to them.
- **Content**: Base64 in Create/Update (WeData's rule); raw or Base64 in RunSQLScript
  (``content.py``). At most ``WEDATA_SQL_SCRIPT_MAX_BYTES`` (1 MiB) of UTF-8: a larger script is
  ``InvalidParameterValue`` naming ``ScriptContent``.
- **Runs**: a run of a saved script takes its configuration (the request's ``ScriptConfig`` is
  ignored, as WeData documents) and runs the request's ``ScriptContent`` when given (a
  selection), else the saved text. An ad-hoc run needs ``ScriptConfig.DatasourceId`` and
  ``ScriptContent`` (``MissingParameter``). ``${name}`` takes ``ScriptConfig.Params`` (a JSON
  object); time variables (``${yyyyMMdd}``, ``${yyyy-MM-dd-1d}``) are of the moment of the run
  in UTC+8; an unknown variable refuses the run naming it. ``RunSQLScript.Params`` (executor
  settings for WeData's engines) must be a JSON object; it is kept, nothing here reads it.
- **Who sees a run**: runs of shared scripts every member; ad-hoc runs and runs of private
  scripts only who ran them. ``StopSQLScriptRun`` takes who ran it or a project administrator;
  stopping a run that has ended is ``InvalidParameter.InvalidJobState``.
- **Results**: per statement the columns, the first ``WEDATA_SQL_SCRIPT_MAX_ROWS`` rows (1000)
  and at most 10 MiB of them, ``Truncated`` when cut; ``Total`` is the rows returned (WeData:
  "the preview row count"); GetSQLRunResult returns at most 10 MB of rows in all (later rows cut,
  ``Truncated``). Results are kept ``WEDATA_SQL_RESULT_RETENTION`` (7 days) after the run
  ended, then ``ResourceNotFound.ResultExpired``. A failed or stopped run returns the results of
  the statements that ended before it. ``ListSQLScriptRuns`` (not paged) lists the newest 200
  runs that match, without their JobExecutionList (GetSQLRunResult has them).
- **Ids**: ``JobId`` is ``68`` + ``yyyyMMddHHmmssSSS`` (UTC+8), as WeData's; a statement's
  ``JobExecutionId`` is ``<JobId>_<n>`` from 0 and its ``JobExecutionName`` ``Result<n+1>``; an
  ad-hoc run's ``ScriptId`` is ``adhoc-<uuid>`` and its ``JobName`` ``yyyyMMdd-HHmm``.
"""
