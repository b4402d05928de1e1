"""The reviewers' service (`genepair serve`): a REST API and server-rendered pages on the
warehouse (seed 003 §H, §J). ``app`` builds the FastAPI application, ``db`` hands out
short-lived connections (DuckDB) or pooled ones (PostgreSQL), ``store`` holds the SQL,
``reviews`` the review write, ``tokens`` the bearer tokens, ``forest`` the forest plots and
``rationale`` the one-line summary of a pair's numbers."""
