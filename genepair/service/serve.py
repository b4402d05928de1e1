"""`genepair serve`: settings from pipeline.yaml, the engine's connections, uvicorn."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from genepair.service import forest
from genepair.service.app import Settings, create_app
from genepair.service.db import service_db
from loader.errors import GenepairError


def _is_loopback_only(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_for(target: str, config_path: Path | None, no_auth: bool) -> Settings:
    from loader.config import load_config

    config = load_config(config_path)
    scoring = config.scoring or {}
    fisher = 1.06 if str(config.dbt_vars().get("scoring_fisher_variance", "standard")) == "fieller" else 1.0
    return Settings(
        target=target,
        no_auth=no_auth,
        default_disease=config.default_disease or "SEPSIS",
        min_cohort_n=int(scoring.get("min_cohort_n", 4)),
        fisher_variance=fisher,
    )


def serve(target: str, config_path: Path | None, host: str, port: int, no_auth: bool, wait_s: float) -> None:
    import uvicorn

    if no_auth and not _is_loopback_only(host):
        raise GenepairError("NO_AUTH_NOT_LOCAL", f"--no-auth serves one local user: listen on 127.0.0.1, not {host!r}")
    settings = settings_for(target, config_path, no_auth)
    db = service_db(target, wait_s=wait_s)
    app = create_app(settings, db)
    forest.warm_up()
    access = logging.getLogger("genepair.serve")
    access.setLevel(logging.INFO)
    stream = logging.StreamHandler()
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    access.addHandler(stream)
    print(
        f"genepair serve: {target} warehouse on http://{host}:{port}/ (API docs /docs)"
        + (" without tokens (--no-auth)" if no_auth else ""),
        flush=True,
    )
    try:
        # the access log is ours (genepair.serve: no query strings, no headers, no tokens)
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", timeout_graceful_shutdown=5)
    finally:
        db.close()
