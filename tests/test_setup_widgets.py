"""The sidebar's method settings are drawn from the methods' parameter rules
(``setup.setting_ui``), not restated by the pages."""

from streamlit.testing.v1 import AppTest


def _sidebar(preset: str, **kw):
    def page(preset, kw):
        import streamlit as st

        from clustlib.methods.secu import SeCu
        from clustlib.ui.setup import setting_ui

        st.session_state["secu_preset"] = preset
        setting_ui("secu", SeCu, "max_iter", "Epochs", upto=200)
        setting_ui("secu", SeCu, "center_update", "Centre update")
        setting_ui("secu", SeCu, "gamma", "γ", step=0.05)
        if kw:
            setting_ui("secu", SeCu, **kw)

    at = AppTest.from_function(page, args=(preset, kw))
    at.run()
    return at


def test_the_widgets_take_their_range_and_options_from_the_rules():
    from clustlib.methods.secu import SeCu

    at = _sidebar("demo")
    assert not at.exception
    epochs = at.sidebar.slider(key="secu_max_iter_demo")
    assert (epochs.min, epochs.max, epochs.value) == (1, 200, SeCu.PRESETS["demo"]["max_iter"])
    assert list(at.sidebar.radio(key="secu_center_update_demo").options) == list(SeCu.PARAM_RULES["center_update"].options)
    gamma = at.sidebar.slider(key="secu_gamma_demo")
    assert (gamma.min, gamma.max) == (SeCu.PARAM_RULES["gamma"].lo, SeCu.PARAM_RULES["gamma"].hi)
    paper = _sidebar("paper").sidebar.slider(key="secu_max_iter_paper")  # 400 epochs: the slider reaches them
    assert paper.value == SeCu.PRESETS["paper"]["max_iter"] == paper.max


def test_a_page_that_offers_what_the_rule_refuses_fails_on_its_first_run():
    at = _sidebar("demo", name="gamma", label="γ", choices=[0.5, 1.5])
    assert at.exception and "outside its rule" in at.exception[0].message
    at = _sidebar("demo", name="target", label="loss", choices=["hard", "fuzzy"])
    assert at.exception and "'fuzzy'" in at.exception[0].message


def test_the_metrics_row_reads_as_people_read_numbers():
    """'training time 2 min 05 s', not 'seconds 125.123'; a method's rounds by their name
    (epochs trained), a recording's epochs as recorded (first epoch included)."""
    def page():
        from pathlib import Path

        import clustlib
        from clustlib.ui.results import metrics_row_ui
        from clustlib.ui.store import load_run

        assets = Path(clustlib.__file__).parent / "app" / "assets"
        for name in ("secu-digits", "external-autoencoder"):
            run = load_run(assets / name)
            run.info["metrics"]["seconds"] = 125.123
            metrics_row_ui(run)

    at = AppTest.from_function(page)
    at.run()
    assert not at.exception
    shown = {(m.label, m.value) for m in at.metric}
    assert ("training time", "2 min 05 s") in shown
    assert any(label == "epochs trained" for label, _ in shown)
    assert any(label == "epochs recorded" for label, _ in shown)
    assert not any(label in ("seconds", "rounds") for label, _ in shown)
