"""The web console: server-rendered pages (Jinja2) made live with htmx, at ``/console/``.

Served by ``wedata server`` itself; no Node.js at install or run time: the few browser libraries
(htmx; dagre for the DAG layout) are vendored, pinned, with their licences, under
``static/vendor/`` (``make vendor`` refreshes them from npm, tools/vendor.sh).

Every read and every change goes through the same action handlers as the wire API
(``client.Actions``: the registry's bound routes, with a ``RequestContext`` for the signed-in
caller), so the console can do exactly what the credential can do through the SDK. Two
questions the API has no action for are asked of ``services.projects.access``: which projects
the caller belongs to (the switcher: ListProjects is tenant-wide) and whether the caller's role
operates a project (to hide the buttons a Visitor would be refused anyway).

Modules: frame.py (routes, sign-in guard, CSRF, security headers, the page table), session.py
(signed cookie, CSRF tokens, sign-in brake), client.py (actions), render.py (templates), reads.py
and dag.py (what several pages read), pages/ (one module per page). Docs: docs/console.md.

Place in the layers (docs/development.md): the console sits between ``app`` and ``actions``.
``app.create_app`` is the composition root and mounts the console with the parts of the runtime
(routes, credentials, session key); the console imports nothing above it and never ``app``.
"""

from wedata.console.frame import Console

__all__ = ["Console"]
