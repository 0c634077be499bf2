import streamlit as st

from clustlib.library import zip_run
from clustlib.rundir import runs_dir
from clustlib.ui import access
from clustlib.ui import library as lib

st.title("Runs library")
if access.session().host:  # the server's folders are the host's to know, not a visitor's
    st.caption(f"Demo runs from `assets/` and your runs from `{runs_dir()}` (`clustlib app --runs DIR` uses another folder).")
else:
    st.caption("Demo runs, and the runs saved on this server.")
table_area = st.container()  # filled after the upload below is handled, so a new run shows at once
lib.upload_ui()

with table_area:
    rows = lib.runs_table()
    if rows:
        lib.table_ui(rows)
        labels = [f"[{r['where']}] {r['run']}" for r in rows]
        pick = st.selectbox("Run", labels, key="lib_pick")
        row = rows[labels.index(pick)] if pick in labels else rows[0]
        c1, c2, c3 = st.columns(3)
        if c1.button("Open in its method page", type="primary", disabled=row["method"] == "damaged"):
            lib.open_run_ui(row)
        if row["method"] != "damaged":
            c2.download_button("Download as .zip", zip_run(row["path"]), f"{row['run']}.zip", "application/zip")
        with c3:
            lib.delete_ui(row)
            lib.rename_ui(row)
    else:
        st.info("No runs yet: train one on a method page, or run `make demo-assets`.")
