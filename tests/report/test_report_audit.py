"""The "Your models" section: present only with an audit table, its figure drawn, its sentences from the data."""

import numpy as np
import pytest
from safetensors.numpy import save_file
from test_render import SVGS, page

from bptt.audit import run
from bptt.report import audit, figures


@pytest.fixture(scope="module")
def audit_table(tmp_path_factory):
    """A 2-layer tanh RNN stored as float16 whose gradients fall far below float32's range within T = 60."""
    folder = tmp_path_factory.mktemp("audit")
    rng = np.random.default_rng(0)
    h, i = 6, 3
    state = {}
    for k in range(2):
        state |= {
            f"weight_ih_l{k}": rng.standard_normal((h, i if k == 0 else h)) / 2,
            f"weight_hh_l{k}": 0.1 * np.linalg.qr(rng.standard_normal((h, h)))[0],
            f"bias_ih_l{k}": np.zeros(h),
            f"bias_hh_l{k}": np.zeros(h),
        }
    save_file({k: v.astype(np.float16) for k, v in state.items()}, str(folder / "rnn.safetensors"))
    save_file({"fc.weight": rng.standard_normal((2, h))}, str(folder / "head.safetensors"))
    np.save(folder / "x.npy", rng.standard_normal((4, 60, i)))  # batch_first
    np.save(folder / "y.npy", rng.integers(0, 2, 4))
    model = {
        "name": "tiny_rnn",
        "weights": str(folder / "rnn.safetensors"),
        "inputs": str(folder / "x.npy"),
        "batch_first": True,
        "nonlinearity": "tanh",
        "head": {
            "weights": str(folder / "head.safetensors"),
            "weight": "fc.weight",
            "loss": "cross_entropy",
            "targets": str(folder / "y.npy"),
        },
    }
    return run.audit({"models": [model], "directions": 2}).to_pandas()


def test_table_has_a_row_per_model_layer_quantity_summary_and_lag(audit_table):
    counts = audit_table.groupby(["model", "layer", "quantity", "summary"]).size()
    assert (counts == 60).all() and len(counts) == 2 * 2 * len(run.SUMMARIES)
    assert set(audit_table["weights_dtype"]) == {"float16,float64"}
    assert set(audit_table["sequences"]) == {4, 8}  # the loss per sequence; 2 directions each for state


def test_section_only_with_an_audit(tables, config, audit_table):
    assert 'id="your-models"' not in page(tables, config)
    svgs = SVGS | {"audit-0": figures.to_svg(audit.figure(audit_table))}
    html = page(tables._replace(audit=audit_table), config, svgs=svgs)
    assert 'id="your-models"' in html and 'href="#your-models"' in html
    assert "the float16 weights were upcast to float64 exactly" in " ".join(html.split())
    assert html.count("timescale") >= 4  # each layer, each quantity


def test_float32_sentence_follows_the_data(audit_table):
    found = audit.findings(audit_table, "tiny_rnn")
    loss0 = audit_table[(audit_table.layer == 0) & (audit_table.quantity == "loss_h")]
    biggest = loss0[loss0.summary == "max"].set_index("lag")["log10_norm"]
    first = int(biggest.index[biggest < audit.LOG10_FLOAT32_ZERO].min())
    sentence = found["layer_findings"][0]["sentences"][1]
    assert sentence.startswith("‖∂L/∂h_k‖") and f"from lag {first} on" in sentence
    assert found["upcast"] == "float16" and found["layers"] == 2


def test_powers_of_ten_as_the_page_prints_them():
    assert [audit._power(v) for v in (-64.2, 2.4, -0.37, -np.inf, np.nan)] == [
        "10⁻⁶⁴",
        "250",
        "0.43",
        "0",
        "not measurable",
    ]
