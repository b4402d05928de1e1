"""Real gene annotation (`genepair annotate`): every human Ensembl gene's symbol, name,
type and chromosome location from Bioconductor's ``org.Hs.eg.db`` (Debian package
``r-bioc-org.hs.eg.db``), a versioned SQLite file, into ``staging.gene_annotation``.

One row per Ensembl id: an id that maps to several Entrez genes keeps the lowest Entrez
internal id; of several locations the primary assembly's (a seqname without ``_``) with
the lowest start. Locations are 1-based, strand from the sign org.Hs.eg.db stores. The
package version, the source dates and the file's SHA-256 go to
``staging.gene_annotation_source``; dim_gene shows the annotation's version.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from loader.errors import LoaderError
from loader.runlog import RunLog, utcnow
from loader.warehouse import Warehouse
from loader.warehouse.tables import ANNOTATION_SOURCE, GENE_ANNOTATION

PACKAGE_DIR = Path("/usr/lib/R/site-library/org.Hs.eg.db")
SQLITE = PACKAGE_DIR / "extdata" / "org.Hs.eg.sqlite"

QUERY = """
WITH ens AS (
    SELECT ensembl_id, min(_id) AS _id FROM ensembl WHERE ensembl_id LIKE 'ENSG%' GROUP BY ensembl_id
),
loc AS (
    SELECT _id, seqname, start_location, end_location,
           row_number() OVER (PARTITION BY _id ORDER BY instr(seqname, '_') > 0, abs(start_location)) AS pick
    FROM chromosome_locations
)
SELECT ens.ensembl_id, genes.gene_id, info.symbol, info.gene_name, gtype.gene_type,
       coalesce(loc.seqname, chrom.chromosome), loc.start_location, loc.end_location
FROM ens
JOIN genes ON genes._id = ens._id
LEFT JOIN gene_info AS info ON info._id = ens._id
LEFT JOIN genetype AS gtype ON gtype._id = ens._id
LEFT JOIN (SELECT _id, min(chromosome) AS chromosome FROM chromosomes GROUP BY _id) AS chrom ON chrom._id = ens._id
LEFT JOIN loc ON loc._id = ens._id AND loc.pick = 1
ORDER BY ens.ensembl_id
"""


@dataclass
class AnnotationResult:
    n_genes: int
    version: str
    reused: bool


def package_version(sqlite_path: Path) -> str:
    description = sqlite_path.parent.parent / "DESCRIPTION"
    if description.is_file():
        match = re.search(r"^Version:\s*(\S+)", description.read_text(encoding="utf-8"), re.M)
        if match:
            return match.group(1)
    return "unknown"


def read_annotation(sqlite_path: Path) -> tuple[pa.Table, dict[str, str]]:
    if not sqlite_path.is_file():
        raise LoaderError(
            "FILE_NOT_FOUND",
            f"{sqlite_path}: annotation not found; install it with `apt-get install r-bioc-org.hs.eg.db` "
            "or pass --sqlite PATH to an org.Hs.eg.sqlite",
        )
    try:
        con = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
        try:
            meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
            rows = con.execute(QUERY).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise LoaderError("INVALID_JSON", f"{sqlite_path}: not an org.Hs.eg.db SQLite file ({exc})") from None
    if meta.get("ORGANISM") != "Homo sapiens":
        raise LoaderError("INVALID_JSON", f"{sqlite_path}: organism {meta.get('ORGANISM')!r}, expected Homo sapiens")
    cols = list(zip(*rows, strict=True)) if rows else [()] * 8
    start = [abs(v) if v is not None else None for v in cols[6]]
    end = [abs(v) if v is not None else None for v in cols[7]]
    strand = [None if v is None else ("-" if v < 0 else "+") for v in cols[6]]
    table = pa.table(
        {
            "gene_id": pa.array(cols[0], pa.string()),
            "entrez_id": pa.array(cols[1], pa.string()),
            "gene_symbol": pa.array(cols[2], pa.string()),
            "gene_name": pa.array(cols[3], pa.string()),
            "gene_type": pa.array(cols[4], pa.string()),
            "chromosome": pa.array(cols[5], pa.string()),
            "start_position": pa.array(start, pa.int64()),
            "end_position": pa.array(end, pa.int64()),
            "strand": pa.array(strand, pa.string()),
        }
    )
    return table, meta


def annotate(warehouse: Warehouse, runlog: RunLog, sqlite_path: Path = SQLITE) -> AnnotationResult:
    """Replace staging.gene_annotation with the file's genes (unchanged file: nothing written)."""
    digest = hashlib.sha256(sqlite_path.read_bytes()).hexdigest() if sqlite_path.is_file() else ""
    version = f"org.Hs.eg.db {package_version(sqlite_path)}"
    current = warehouse.query(f"SELECT file_sha256, n_genes FROM {ANNOTATION_SOURCE.qualified}")
    if current and current[0][0] == digest:
        return AnnotationResult(int(current[0][1]), version, True)
    table, meta = read_annotation(sqlite_path)
    with warehouse.transaction():
        with runlog.step("load_gene_annotation") as rec:
            warehouse.execute(f"DELETE FROM {GENE_ANNOTATION.qualified}")
            warehouse.execute(f"DELETE FROM {ANNOTATION_SOURCE.qualified}")
            rec.rows_written = warehouse.insert_arrow(GENE_ANNOTATION, table)
            warehouse.insert_rows(
                ANNOTATION_SOURCE,
                [{"source_name": "org.Hs.eg.db", "source_version": package_version(sqlite_path),
                  "ensembl_source_date": meta.get("ENSOURCEDATE"), "entrez_source_date": meta.get("EGSOURCEDATE"),
                  "file_sha256": digest, "n_genes": table.num_rows, "loaded_at": utcnow()}],
            )  # fmt: skip
            rec.context.update({"source": version, "sqlite": str(sqlite_path), "genes": table.num_rows})
        runlog.flush(warehouse)
    return AnnotationResult(table.num_rows, version, False)
