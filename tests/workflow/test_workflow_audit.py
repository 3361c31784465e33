"""The audit through Snakemake: `snakemake audit` alone, the report's "Your models" with an audit section,
a bad model file refused in one line with no table, and the schema checking the section."""

import numpy as np
import pytest
import yaml
from safetensors.numpy import save_file
from workflow_helpers import TINY, snakemake, write_config

pytestmark = pytest.mark.workflow


def with_audit(path, **change):
    """The tiny config plus an audit of a 2-layer LSTM saved in PyTorch's layout inside the copy."""
    rng = np.random.default_rng(0)
    h, i = 4, 3
    state = {}
    for k in range(2):
        state |= {
            f"lstm.weight_ih_l{k}": rng.standard_normal((4 * h, i if k == 0 else h)).astype(np.float32),
            f"lstm.weight_hh_l{k}": rng.standard_normal((4 * h, h)).astype(np.float32) / 2,
            f"lstm.bias_ih_l{k}": np.zeros(4 * h, np.float32),
            f"lstm.bias_hh_l{k}": np.ones(4 * h, np.float32),
        }
    state |= {"fc.weight": rng.standard_normal((2, h)).astype(np.float32), "fc.bias": np.zeros(2, np.float32)}
    (path / "mine").mkdir()
    save_file(state, str(path / "mine" / "lstm.safetensors"))
    np.save(path / "mine" / "x.npy", rng.standard_normal((3, 12, i)))  # batch_first
    np.save(path / "mine" / "y.npy", rng.integers(0, 2, 3))
    model = {
        "name": "my_lstm",
        "weights": "mine/lstm.safetensors",
        "inputs": "mine/x.npy",
        "batch_first": True,
        "prefix": "lstm.",
        "head": {"weight": "fc.weight", "bias": "fc.bias", "loss": "cross_entropy", "targets": "mine/y.npy"},
    } | change
    write_config(path, TINY | {"audit": {"models": [model], "directions": 2}})


def test_snakemake_audit_alone(fresh):
    with_audit(fresh)
    snakemake(fresh, "audit", "--cores", "1")
    table = __import__("pandas").read_parquet(fresh / "results" / "audit.parquet")
    assert set(table["layer"]) == {0, 1} and set(table["quantity"]) == {"state", "state_c", "loss_h", "loss_c"}
    assert not (fresh / "results" / "gradients.parquet").exists()  # the audit alone


def test_report_has_your_models(fresh):
    with_audit(fresh)
    snakemake(fresh, "--cores", "2")
    html = (fresh / "results" / "report.html").read_text()
    assert 'id="your-models"' in html and "my_lstm" in html


def test_bad_model_file_is_one_line_and_no_table(fresh):
    with_audit(fresh, prefix="")  # the keys then read lstm.weight_ih_l0 ...: unknown
    result = snakemake(fresh, "audit", "--cores", "1", check=False)
    assert result.returncode != 0 and not (fresh / "results" / "audit.parquet").exists()
    log = (fresh / "logs" / "audit.log").read_text().strip().splitlines()
    assert len(log) == 1 and "unknown key(s) lstm.bias_hh_l0" in log[0] and "Traceback" not in log[0]


def test_schema_checks_the_section(fresh):
    with_audit(fresh)
    config = yaml.safe_load((fresh / "config.yaml").read_text())
    config["audit"]["models"][0]["loss_at"] = "last"  # belongs under head:
    write_config(fresh, config)
    result = snakemake(fresh, "audit", "--cores", "1", check=False)
    assert result.returncode != 0 and "loss_at" in result.stderr + result.stdout
    assert not (fresh / "results").exists()
