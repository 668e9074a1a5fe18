"""Reports: finished runs -> per-seed tables, mean ± std, paired differences, plots, pages.

Reads records only (a study's .json), never trains: stats.py (numbers), tables.py (markdown),
plots.py (matplotlib), pages.py (docs/NAME.md / .json / .png), text.py (the text application's
matched-diversity comparison), tool_pages.py (a tool's page: a benchmark's or profile's .md /
.json).
"""
