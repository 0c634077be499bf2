"""Peak extra memory and seconds of each hostile input (issues 17 and 45), each probe in a
fresh process: it must be refused with one line, or accepted within bounds, and cost well
under 300 MB. Prints a Markdown table (kept in docs/safety.md).

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
        from clustlib.runs import Run
        from clustlib.library import import_zip, zip_run
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
        from clustlib.data import load_dataset
        from clustlib.uploads import save_upload
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
    "visitor link faces:people=500,per=1000 (1.9 GiB)": """
        from clustlib.uploads import check_visitor_spec
        check_visitor_spec("faces:people=500,per=1000", [tmp])
    """,
    "CLI faces:people=500,per=1000": """
        from clustlib.data import load_dataset
        load_dataset("faces:people=500,per=1000")
    """,
    "recording .npz (0.5 MB) declaring 458 MiB, in the app": """
        import numpy as np
        from clustlib.external import import_npz
        np.savez_compressed(f"{tmp}/rec.npz", embeddings=np.zeros((300, 2000, 200), np.float32),
                            y=np.repeat(np.arange(10), 200))
        import resource
        print("BASE", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        from clustlib.ui.picking import VISITOR_RECORDING_BYTES
        import_npz(f"{tmp}/rec.npz", f"{tmp}/run", max_frames=100, max_bytes=VISITOR_RECORDING_BYTES)
    """,
    "the same recording with the CLI (read epoch by epoch)": """
        import numpy as np
        from clustlib.external import import_npz
        np.savez_compressed(f"{tmp}/rec.npz", embeddings=np.zeros((300, 2000, 200), np.float32),
                            y=np.repeat(np.arange(10), 200))
        import resource
        print("BASE", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        import_npz(f"{tmp}/rec.npz", f"{tmp}/run")
    """,
    "run.json with a 5,000-digit seed": """
        import json, sys
        from clustlib.runs import Run
        from clustlib.library import list_runs
        from clustlib.methods.knet import KNet
        from clustlib.data import load_dataset
        ds = load_dataset("moons:n=100")
        est = KNet.from_preset("tiny", n_clusters=2, random_state=0).fit(ds.X, ds.y)
        path = Run.from_estimator(est, method="knet", data="moons:n=100", y=ds.y).save(f"{tmp}/r")
        text = (path / "run.json").read_text().replace('"seed": null', '"seed": ' + "9" * 5000)
        (path / "run.json").write_text(text.replace('"seed": 0', '"seed": ' + "9" * 5000))
        assert isinstance(list_runs(tmp)[0][1], str)
        Run.load(path)
    """,
    "trace.npz whose embedding is strings": """
        import numpy as np
        from clustlib.runs import Run
        from clustlib.methods.knet import KNet
        from clustlib.data import load_dataset
        ds = load_dataset("moons:n=100")
        est = KNet.from_preset("tiny", n_clusters=2, random_state=0).fit(ds.X, ds.y)
        path = Run.from_estimator(est, method="knet", data="moons:n=100", y=ds.y).save(f"{tmp}/r")
        z = dict(np.load(path / "trace.npz"))
        z["embedding/1"] = np.full(z["embedding/1"].shape, "x")
        np.savez(path / "trace.npz", **z)
        Run.load(path)
    """,
    "spirals:noise=-1, moons:noise=nan, seed=-1": """
        from clustlib.data import load_dataset
        from clustlib.dataset import DatasetError
        for spec in ("spirals:noise=-1", "moons:noise=nan"):
            try:
                load_dataset(spec)
            except DatasetError:
                pass
        load_dataset("moons:seed=-1")
    """,
}

RUNNER = """
import resource, sys
tmp = sys.argv[1]
import time
import clustlib, numpy, torch  # the baseline: what any clustlib process holds
print("BASE", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
t0 = time.perf_counter()
try:
{body}
    print("ACCEPTED")
except ValueError as err:
    print("REFUSED", str(err).splitlines()[0][:110])
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print("SECONDS", time.perf_counter() - t0)
"""


def main() -> None:
    print(machine_line() + "\n")
    print("| probe | outcome | extra peak memory | seconds |\n|---|---|---|---|")
    for name, body in PROBES.items():
        code = RUNNER.format(body=textwrap.indent(textwrap.dedent(body), "    "))
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", code, tmp], capture_output=True, text=True,
                                 timeout=600).stdout.splitlines()
        base = [int(line.split()[1]) for line in out if line.startswith("BASE")]
        peak = [int(line.split()[1]) for line in out if line.startswith("PEAK")]
        outcome = next((line for line in out if line.startswith(("REFUSED", "ACCEPTED"))), "crashed")
        extra = f"{(peak[0] - base[-1]) / 1024:.0f} MB" if base and peak else "?"
        seconds = next((f"{float(line.split()[1]):.1f}" for line in out if line.startswith("SECONDS")), "?")
        print(f"| {name} | {outcome.replace('|', '/')} | {extra} | {seconds} |", flush=True)


if __name__ == "__main__":
    main()
