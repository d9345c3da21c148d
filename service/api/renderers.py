"""What every render process starts with (``service.api.render_pool``): multiprocessing's fork
server imports this module once, and the processes forked from it find pygal, the compiled
templates and WeasyPrint loaded, rather than each taking a second to import them."""

from service.api.evaluation_report import load_renderers

load_renderers()
