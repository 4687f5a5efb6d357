"""Projects: the caller's projects, and the switcher in every page's header.

ListProjects is tenant-wide in the API (as in WeData: any credential may list the tenant's
projects); the console shows a user only the projects they are a member of
(``View.my_projects``: ListProjects filtered by services/projects/access.py), every project to a
tenant administrator. Opening another project's page by its URL is refused by the actions
themselves (UnauthorizedOperation.UserNotInProject).
"""

from __future__ import annotations

from starlette.responses import Response

from wedata.console.frame import Pages, View

pages = Pages()


@pages.get("/projects")
def projects(v: View) -> Response:
    return v.render("projects.html", projects=v.my_projects())


@pages.get("/switch")
def switch(v: View) -> Response:
    """The switcher's form (a GET: it changes nothing)."""
    project_id = v.arg("project")
    if not project_id or not any(p.project_id == project_id for p in v.my_projects()):
        return v.redirect("/projects")
    return v.redirect(f"/p/{project_id}/workflows")
