"""The console's pages: one module per page (its routes in a ``Pages`` table, its views) plus its
templates under console/templates/. Listed in ``console.frame.PAGE_MODULES``."""
