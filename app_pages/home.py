import streamlit as st

from clustlib.methods import DESCRIPTIONS

st.title("clustlib — watch deep clustering learn")
st.write("Five deep clustering methods from five papers, one scikit-learn style API, and the "
         "animation each paper is known for. Train on the embedded datasets in seconds on a "
         "laptop, or open a run trained elsewhere.")
PICTURES = {
    "jule": ("JULE", "app_pages/jule.py",
             "Merge stages: the learned representation coloured by current cluster, one frame per "
             "period, the number of clusters falling (Yang et al. 2016, Fig. 1, 10); sample images "
             "of the largest clusters at any stage."),
    "knet": ("KNet", "app_pages/knet.py",
             "The learned kernel matrix, rows sorted by cluster, turning block-diagonal while "
             "the embedding becomes convex (Wu et al. 2020, Fig. 1, 4–7)."),
    "dac": ("DAC", "app_pages/dac.py",
            "The circular label-feature map (Chang et al. 2017, suppl. Eq. 1): every sample's label "
            "feature drifting, epoch by epoch, to one of the k vertices as the thresholds u and l close."),
    "dscl": ("DSCL", "app_pages/dscl.py",
             "Categories the network never saw: 106 Omniglot characters of three alphabets held out "
             "of training, drawn where they land in t-SNE maps of the pixels and of the learned "
             "embedding, with their k-means NMI and Recall@1 (Law et al. 2017, suppl. Fig. 2–4)."),
    "secu": ("SeCu", "app_pages/secu.py",
             "Cluster sizes epoch by epoch against the γN/K floor that the dual variables enforce, "
             "and the features gathering around unit-norm centres (Qian 2023)."),
}
for name, (title, page, picture) in PICTURES.items():
    with st.container(border=True):
        st.subheader(title)
        st.caption(DESCRIPTIONS[name])
        st.write(picture)
        st.page_link(page, label=f"Open {title} — load the demo run and press ▶ Play", icon="▶️")
st.info("Every method page can hold classes out of training and show where they land (t-SNE / UMAP).")
