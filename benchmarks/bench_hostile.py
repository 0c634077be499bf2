"""Peak extra memory of each hostile input of issue 17, each probe in a fresh process:
it must be refused with one line and cost well under 300 MB. Prints a Markdown table.

    python benchmarks/bench_hostile.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap

from machine import machine_line

PROBES = {
    "moons:n=2000000000 (7 GiB if generated)": """
        from clustlib.data import load_dataset
        load_dataset("moons:n=2000000000")
    """,
    ".npz upload declaring 1.5 GiB": """
        import io, zipfile, numpy as np
        from clustlib.data import load_dataset
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                                   "shape": (200_000, 1_000)})
        with zipfile.ZipFile(f"{tmp}/x.npz", "w") as z:
            z.writestr("X.npy", buf.getvalue() + b"\\0" * 1000)
        load_dataset(f"npz:{tmp}/x.npz")
    """,
    "run zip whose trace.npz is a 1.5 GB compression bomb": """
        import io, zipfile, numpy as np
        from clustlib.runs import Run, import_zip, zip_run
        from clustlib.methods.knet import KNet
        from clustlib.data import load_dataset
        ds = load_dataset("moons:n=100")
        est = KNet.from_preset("tiny", n_clusters=2, random_state=0).fit(ds.X, ds.y)
        path = Run.from_estimator(est, method="knet", data="moons:n=100", y=ds.y).save(f"{tmp}/r")
        with zipfile.ZipFile(path / "trace.npz", "a", zipfile.ZIP_DEFLATED) as z:
            with z.open("bomb.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (190_000_000,)})
                block = bytes(2**24)
                for _ in range(90):
                    fh.write(block)
        data = zip_run(path)
        import resource
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print("BASE", base)
        import_zip(data, f"{tmp}/runs")
    """,
    "image zip whose first image is 9000 x 9000": """
        import io, zipfile
        from PIL import Image
        from clustlib.data import load_dataset, save_upload
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for c in "ab":
                b = io.BytesIO(); Image.new("1", (9000, 9000)).save(b, "PNG"); z.writestr(f"{c}/0.png", b.getvalue())
                for i in range(1, 50):
                    b = io.BytesIO(); Image.new("L", (8, 8)).save(b, "PNG"); z.writestr(f"{c}/{i}.png", b.getvalue())
        load_dataset(save_upload("imgs.zip", out.getvalue(), f"{tmp}/uploads"))
    """,
    "run.json declaring a hidden width of 20,000": """
        import json
        from clustlib.runs import Run
        from clustlib.methods.knet import KNet
        from clustlib.data import load_dataset
        ds = load_dataset("moons:n=100")
        est = KNet.from_preset("tiny", n_clusters=2, random_state=0).fit(ds.X, ds.y)
        path = Run.from_estimator(est, method="knet", data="moons:n=100", y=ds.y).save(f"{tmp}/r")
        doc = json.loads((path / "run.json").read_text()); doc["state"]["hidden"] = 20_000
        (path / "run.json").write_text(json.dumps(doc))
        import resource
        print("BASE", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        Run.load(path)
    """,
}

RUNNER = """
import resource, sys
tmp = sys.argv[1]
import clustlib, numpy, torch  # the baseline: what any clustlib process holds
print("BASE", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
try:
{body}
    print("ACCEPTED")
except ValueError as err:
    print("REFUSED", str(err).splitlines()[0][:110])
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    print(machine_line() + "\n")
    print("| probe | outcome | extra peak memory |\n|---|---|---|")
    for name, body in PROBES.items():
        code = RUNNER.format(body=textwrap.indent(textwrap.dedent(body), "    "))
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", code, tmp], capture_output=True, text=True,
                                 timeout=600).stdout.splitlines()
        base = [int(line.split()[1]) for line in out if line.startswith("BASE")]
        peak = [int(line.split()[1]) for line in out if line.startswith("PEAK")]
        outcome = next((line for line in out if line.startswith(("REFUSED", "ACCEPTED"))), "crashed")
        extra = f"{(peak[0] - base[-1]) / 1024:.0f} MB" if base and peak else "?"
        print(f"| {name} | {outcome} | {extra} |", flush=True)


if __name__ == "__main__":
    main()
