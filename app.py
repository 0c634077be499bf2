import streamlit as st
from streamlit.errors import StreamlitAPIException

from clustlib.app import favicon
from clustlib.methods import METHODS

st.set_page_config(page_title="clustlib — watch deep clustering learn", page_icon=favicon(), layout="wide")

# Streamlit forgets a widget's value when a run of another page does not draw it (and, in
# a browser, while a page's fragments poll a training job, even re-set values were lost).
# Each page's settings are copied here on every run and put back when they are missing.
_NOT_SETTABLE = ("_load", "_stop", "_train", "_train_link", "_delete", "_upload", "_inspect")  # buttons, uploads, chart selections
_kept = st.session_state.setdefault("_kept_settings", {})
for _key, _value in _kept.items():
    if _key not in st.session_state:
        st.session_state[_key] = _value
for _key in list(st.session_state):
    _value = st.session_state[_key]
    if (isinstance(_key, str) and not _key.startswith("_") and not _key.endswith(_NOT_SETTABLE)
            and isinstance(_value, (str, int, float, bool, list, tuple, type(None)))):
        _kept[_key] = _value
        try:
            st.session_state[_key] = _value
        except StreamlitAPIException:
            pass
st.navigation({
    "": [st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Methods": [st.Page(f"app_pages/{name}.py", title=cls.ABOUT.page_title, icon=cls.ABOUT.icon, url_path=name)
                for name, cls in METHODS.items()],  # each method describes itself (ABOUT)
    "Explore": [st.Page("app_pages/external.py", title="Your model", icon=":material/model_training:",
                        url_path="model"),
                st.Page("app_pages/runs.py", title="Runs library", icon=":material/folder_open:", url_path="runs"),
                st.Page("app_pages/compare.py", title="Compare runs", icon=":material/compare:", url_path="compare"),
                st.Page("app_pages/dataset.py", title="Dataset", icon=":material/dataset:", url_path="dataset")],
}).run()
