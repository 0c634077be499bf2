import streamlit as st

from clustlib.methods import METHODS

st.title("clustlib — watch deep clustering learn")
st.write(f"{len(METHODS)} deep clustering methods from {len(METHODS)} papers, one scikit-learn style API, and the "
         "animation each paper is known for. Train on the embedded datasets in seconds on a "
         "laptop, or open a run trained elsewhere.")
for name, cls in METHODS.items():
    about = cls.ABOUT
    with st.container(border=True):
        st.subheader(about.title)
        st.caption(about.description)
        st.write(about.picture)
        st.page_link(f"app_pages/{name}.py", label=f"Open {about.title} — load the demo run and press ▶ Play",
                     icon=":material/play_arrow:")
st.info("Every method page can hold classes out of training and show where they land (t-SNE / UMAP).")
