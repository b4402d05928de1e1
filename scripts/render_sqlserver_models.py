"""Compile every dbt model, test and snapshot for the sqlserver target without a server.

dbt-sqlserver only needs a connection for introspection: ``is_incremental()`` asks the
adapter whether the relation exists. This script answers that question itself (``--mode
first``: nothing exists, the first build; ``--mode incremental``: everything exists, every
later build) so both branches of each incremental model are rendered, then runs ``dbt
compile --no-populate-cache`` in-process. The tests parse the result as T-SQL.

    python scripts/render_sqlserver_models.py --mode first --target-path /tmp/tsql
"""

from __future__ import annotations

import os
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]


@click.command()
@click.option("--mode", type=click.Choice(["first", "incremental"]), default="first", show_default=True)
@click.option("--target-path", type=click.Path(path_type=Path), required=True)
def main(mode: str, target_path: Path) -> None:
    os.environ["GENEPAIR_TARGET"] = "sqlserver"
    os.environ.setdefault("DBT_PROFILES_DIR", str(ROOT))
    from dbt.adapters.sqlserver.sqlserver_adapter import SQLServerAdapter
    from dbt.cli.main import dbtRunner

    def get_relation(self, database, schema, identifier):
        if mode == "first":
            return None
        return self.Relation.create(database=database, schema=schema, identifier=identifier, type="table")

    SQLServerAdapter.get_relation = get_relation
    os.chdir(ROOT)
    result = dbtRunner().invoke(
        ["compile", "--no-populate-cache", "--target-path", str(target_path.resolve()), "--quiet"]
    )
    if not result.success:
        raise click.ClickException(f"dbt compile for sqlserver failed: {result.exception}")
    n = sum(1 for _ in (target_path / "compiled").rglob("*.sql"))
    click.echo(f"compiled {n} files for sqlserver ({mode} build) into {target_path}")


if __name__ == "__main__":
    main()
