"""Rule every_step's tables: the network it picks, each pair against plain BPTT, a network that overflows."""

import numpy as np
import pyarrow.parquet as pq

from bptt.core import cells, loss, reference
from bptt.pipeline import every_step, seeding, tables

FLAGS = {
    "cell": "rnn lstm gru",
    "activation": "relu tanh",
    "radius": "0.5 1.1 2",
    "recurrent-init": "identity orthogonal",
    "gate-bias": "1 0",
    "seq-len": "7 300",
    "batch-size": "3",
    "hidden-size": "4",
    "input-size": "2",
    "input-scale": "1",
    "loss": "mse",
    "num-classes": "3",
}


def _run(tmp_path, **changes):
    flags = FLAGS | {k.replace("_", "-"): v for k, v in changes.items()}
    pairs, lags = tmp_path / "pairs.parquet", tmp_path / "lags.parquet"
    argv = [part for flag, value in flags.items() for part in (f"--{flag}", *value.split())]
    every_step.main([*argv, "--pairs", str(pairs), "--lags", str(lags)])
    return pq.read_table(pairs), pq.read_table(lags)


def test_one_network_per_cell_at_the_point_nearest_one_with_the_main_variant(tmp_path):
    pairs, lags = _run(tmp_path)
    assert pairs.schema.equals(tables.EVERY_STEP_PAIRS) and lags.schema.equals(tables.EVERY_STEP_LAGS)
    drawn = lags.to_pandas().drop_duplicates("cell").set_index("cell")
    assert drawn["activation"].eq("tanh").all() and drawn["radius"].eq(1.1).all()
    assert drawn["seq_len"].eq(7).all()  # 300 is beyond MAX_SEQ_LEN
    assert drawn.loc["rnn", "recurrent_init"] == "orthogonal"
    assert drawn["gate_bias"].tolist() == ["none", "1", "1"] and drawn["gate_bias_value"].isna().tolist() == [
        True,
        False,
        False,
    ]
    assert len(pairs) == 3 * 7 * 8 // 2 and len(lags) == 3 * 7


def test_every_pair_and_the_total_match_plain_bptt_of_each_loss_term(tmp_path):
    pairs, lags = (t.to_pandas() for t in _run(tmp_path, cell="gru"))
    net = cells.make(
        "gru", input_size=2, hidden_size=4, activation="tanh", radius=1.1, rng=seeding.rng(0, "gru"), gate_bias=1.0
    )
    x = seeding.inputs(0, 7, 3, 2, 1.0)
    every = loss.at_every_step(
        "mse", cells.forward(net, x), seeding.readout(0, 3, 4), seeding.step_targets(0, "mse", 7, 3, 3)
    )
    dh_all = every.dh_last * 10.0 ** every.log10_scale[..., None]
    per_source = np.zeros((7, 7, 3, 4))
    for t in range(7):
        per_source[t, : t + 1], _ = reference.bptt(net, x[: t + 1], dh_all[t])
    with np.errstate(divide="ignore"):  # t < k: no dependency, -inf (not in the table)
        want = np.median(np.log10(np.linalg.norm(per_source, axis=-1)), axis=-1)  # (t, k)
    np.testing.assert_allclose(pairs["log10_source_grad_h"], want[pairs["t"], pairs["k"]], rtol=0, atol=1e-10)
    total = np.median(np.log10(np.linalg.norm(per_source.sum(axis=0), axis=-1)), axis=-1)  # by k
    np.testing.assert_allclose(lags["log10_grad_h"], total[::-1], rtol=0, atol=1e-10)


def test_a_network_that_overflows_is_left_out_with_a_message(tmp_path, capsys):
    pairs, lags = _run(tmp_path, cell="rnn", activation="linear", radius="1000", seq_len="200")
    assert len(pairs) == len(lags) == 0 and lags.schema.equals(tables.EVERY_STEP_LAGS)
    assert "rnn: the forward pass leaves float64 at radius 1000; no pairs drawn" in capsys.readouterr().out
