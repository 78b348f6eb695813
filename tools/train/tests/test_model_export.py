"""Invariants of the shipped recipe's network, its feature head fusion, the export round trip and the training data's
labels (tools/train/ecgnat): the shapes the device's manifest promises, what the fused beat scores are, that weights
come back exactly from an fp32 ONNX, that the experiments removed in issue 28 cannot come back unnoticed (pipeline
options, graphs from_onnx would rebuild wrongly). Run with `PYTHONPATH=tools/train /usr/bin/python3 -m pytest
tools/train/tests`."""
import dataclasses
import json
import os

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

from ecgnat import data as D
from ecgnat import export as X
from ecgnat import from_onnx
from ecgnat import pipeline as P
from ecgnat.export_attention import flat_export_copy
from ecgnat.model import (FEATURE_HEAD_CLASSES, FEATURE_HEAD_INPUTS, HEAD_BEATS, MORPH_DIM, RR_DIM_BASE, EcgNat,
                          ModelConfig)

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODELS = os.path.join(ROOT, "models")
SHIPPED = ModelConfig(rr_dim=RR_DIM_BASE + MORPH_DIM, feature_head=32, feature_weight=0.7)


@pytest.fixture(autouse=True)
def _one_thread_and_rr_width():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    D.set_beat_features(False)


def _model(cfg=SHIPPED, seed=0) -> EcgNat:
    torch.manual_seed(seed)
    m = EcgNat(cfg)
    if cfg.feature_head:        # the head is trained apart; give it weights that make a difference
        g = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for lin in (m.fh_fc1, m.fh_fc2, m.fh_out):
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g))
                lin.bias.copy_(0.1 * torch.randn(lin.bias.shape, generator=g))
    return m.eval()


def _inputs(cfg=SHIPPED, n=2, seed=3):
    g = torch.Generator().manual_seed(seed)
    x = 0.5 * torch.randn(n, cfg.in_leads, cfg.win, generator=g)
    m = torch.ones(n, cfg.in_leads)
    m[-1, 2:] = 0
    rr = torch.zeros(n, cfg.tokens()[0], cfg.rr_dim)
    beats = torch.arange(7, cfg.tokens()[0], 23)
    rr[:, beats, 0] = 1
    rr[:, beats, 1:] = 0.3 * torch.randn(n, len(beats), cfg.rr_dim - 1, generator=g)
    return x * m[:, :, None], m, rr, beats


# ---- the shipped network ----------------------------------------------------------------------------------------

def test_the_shipped_config_has_the_manifests_token_grid_and_output_shapes():
    assert SHIPPED.tokens() == [312, 156, 78] and SHIPPED.stem_stride == D.TOKEN_STRIDE == 8
    assert SHIPPED.tokens()[0] == D.TOKENS and SHIPPED.net_rr_dim == RR_DIM_BASE
    x, m, rr, _ = _inputs(n=3)
    with torch.no_grad():
        beat, rhythm = _model()(x, m, rr)
    assert beat.shape == (3, 312, len(D.BEAT_CLASSES)) and rhythm.shape == (3, len(D.RHYTHM_CLASSES))
    assert torch.isfinite(beat).all() and torch.isfinite(rhythm).all()


def test_the_network_reads_only_the_rr_channels_of_beat_rr():
    """The shape channels (4..6) are the feature head's: changing them leaves the network's own logits unchanged."""
    model = _model()
    x, m, rr, beats = _inputs()
    other = rr.clone()
    other[:, beats, RR_DIM_BASE:] += 1.0
    with torch.no_grad():
        a, b = model.forward_train(x, m, rr), model.forward_train(x, m, other)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_a_feature_head_draws_no_random_numbers_so_the_network_starts_the_same():
    """The network's training is bit-identical with and without a feature head: same initial weights."""
    plain = _model(ModelConfig(), seed=5).state_dict()
    torch.manual_seed(5)
    headed = EcgNat(SHIPPED).state_dict()
    assert set(headed) - set(plain) == {f"fh_{n}.{p}" for n in ("fc1", "fc2", "out") for p in ("weight", "bias")}
    assert all(torch.equal(plain[k], headed[k]) for k in plain)


def test_the_fused_scores_are_the_documented_product_of_experts():
    model, a = _model(), SHIPPED.feature_weight
    x, m, rr, beats = _inputs()
    with torch.no_grad():
        fused, _ = model(x, m, rr)
        net = model.forward_train(x, m, rr)[0]
        mlp = F.log_softmax(model.fh_out(F.gelu(model.fh_fc2(F.gelu(model.fh_fc1(rr[:, beats, 1:1 + FEATURE_HEAD_INPUTS]))))), -1)
    base = (1 - a) * F.log_softmax(net, -1)
    expect = base.clone()
    expect[:, beats, :FEATURE_HEAD_CLASSES] += a * mlp
    expect[:, beats, FEATURE_HEAD_CLASSES] += a * mlp.amax(-1)      # Q: the head's best log-probability, no opinion
    torch.testing.assert_close(fused, expect, rtol=0, atol=1e-5)
    others = torch.ones(SHIPPED.tokens()[0], dtype=torch.bool)
    others[beats] = False
    assert torch.equal(fused[:, others].argmax(-1), net[:, others].argmax(-1))   # the network decides off beats
    assert len(beats) <= HEAD_BEATS


def test_the_feature_head_needs_the_shape_channels_and_the_network_alone_reads_none():
    with pytest.raises(ValueError):
        EcgNat(ModelConfig(rr_dim=RR_DIM_BASE, feature_head=32, feature_weight=0.7))
    with pytest.raises(ValueError):
        EcgNat(ModelConfig(rr_dim=RR_DIM_BASE + MORPH_DIM))          # the removed --morph-features network
    with pytest.raises(ValueError):
        EcgNat(dataclasses.replace(SHIPPED, feature_weight=0.0))


def test_the_flat_export_form_computes_the_trained_model():
    model = _model()
    x, m, rr, _ = _inputs()
    w = flat_export_copy(model, check_input=(x, m, rr))   # raises if the rewrite differs by more than 1e-4
    with torch.no_grad():
        torch.testing.assert_close(w(x, m, rr)[0], model(x, m, rr)[0], rtol=0, atol=1e-4)


# ---- ONNX round trip and what from_onnx refuses -----------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    model = _model(seed=11)
    path = str(tmp_path_factory.mktemp("onnx") / "ecg-nat-fp32.onnx")
    X.export_fp32(model, path)
    return model, path


def test_the_weights_come_back_exactly_from_the_fp32_export(exported):
    model, path = exported
    assert from_onnx.config_of(path) == SHIPPED
    back = from_onnx.load_model(path)
    own = model.state_dict()
    for k, v in back.state_dict().items():
        if not k.startswith(from_onnx.TRAINING_ONLY):
            assert torch.equal(v, own[k]), k


def _variant(path, out, edit):
    proto = onnx.load(path)
    edit(proto)
    out = str(out)
    onnx.save(proto, out)
    return out


def test_graphs_of_removed_experiments_are_refused(exported, tmp_path):
    _, path = exported
    assert from_onnx.removed_experiment_of(path) is None
    arch = _variant(path, tmp_path / "arch.onnx", lambda p: helper.set_model_props(p, {from_onnx.ARCHITECTURE_KEY: "stride16"}))
    gate = _variant(path, tmp_path / "gate.onnx", lambda p: p.graph.initializer.append(
        numpy_helper.from_array(np.zeros((1, 5), np.float32), from_onnx.PREFIX + "sg.weight")))
    for p, doc in ((arch, "stride16.md"), (gate, "af-rr.md")):
        assert doc in from_onnx.removed_experiment_of(p)
        with pytest.raises(ValueError, match="1617441"):
            from_onnx.load_model(p)


def test_the_shipped_model_is_rebuilt_and_reproduces_its_reference_vectors():
    fp32 = os.path.join(MODELS, "ecg-nat-fp32.onnx")
    ref_dir = os.path.join(MODELS, "reference")
    if not (os.path.exists(fp32) and os.path.exists(os.path.join(ref_dir, "reference.json"))):
        pytest.skip("no shipped model")
    with open(os.path.join(ref_dir, "reference.json")) as f:
        tol = json.load(f)["tolerance_fp32_abs"]
    cfg = from_onnx.config_of(fp32)
    with open(os.path.join(MODELS, "ecg-nat.manifest.json")) as f:
        man = json.load(f)
    assert cfg.feature_head == man["beat_feature_head"]["hidden"] and cfg.feature_weight == man["beat_feature_head"]["weight"]
    assert cfg.rr_dim == man["inputs"][2]["shape"][2] and "shape" in man["rr_features"] and "s_gate" not in man
    model = from_onnx.load_model(fp32)
    ref = from_onnx.load_reference(ref_dir)
    with torch.no_grad():
        beat, rhythm = model(*(torch.from_numpy(ref[k]) for k in ("ecg", "lead_mask", "beat_rr")))
    assert np.abs(beat.numpy() - ref["beat_logits_fp32"]).max() <= tol
    assert np.abs(rhythm.numpy() - ref["rhythm_logits_fp32"]).max() <= tol


# ---- training data: labels and beat inputs -------------------------------------------------------------------

def _record(group, dataset, beat_pos=(), beat_cls=(), seconds=10, shape=False):
    n = seconds * D.FS
    t = np.arange(n)
    sig = np.zeros((2, n), np.float32)
    for p in range(D.FS // 2, n, int(0.8 * D.FS)):       # a regular 75/min QRS-like spike train
        sig[:, p - 3:p + 4] += np.hanning(7).astype(np.float32)
    sig += 0.01 * np.sin(2 * np.pi * t / D.FS).astype(np.float32)
    spec = D.RecSpec(dataset, "x", "", 50.0, group, "p", 0)
    d = {"sig": sig, "chans": np.array([1, 2], np.int8), "beat_pos": np.array(beat_pos, np.int32),
         "beat_cls": np.array(beat_cls, np.int8), "rhy_start": np.array([0], np.int32),
         "rhy_cls": np.array([D.R_SINUS], np.int8)}
    return D.Record(spec, d, morph=shape)


def test_beat_labels_come_only_from_reference_annotations():
    """A 10-s record without beat annotations has no labelled beats (the removed --n-beat-sources labelled its
    detected beats N); its RR input comes from the detector. An annotated record's RR input is its labelled beats."""
    plain = _record("ptbxl", "ptbxl")
    assert not plain.has_beats and len(plain.beat_cls) == 0
    assert len(plain.rr_pos) >= 10 and plain.rr_feat.shape == (len(plain.rr_pos), 3)
    pos = [300, 500, 700, 900]
    ann = _record("ds1", "mitdb", pos, [0, 1, 0, 2])
    assert ann.has_beats and np.array_equal(ann.rr_pos, pos) and np.array_equal(ann.beat_cls, [0, 1, 0, 2])
    assert not any(f.name in ("n_beats", "wide_qrs") for f in dataclasses.fields(D.RecSpec))


def test_the_shape_channels_follow_the_rr_ones_and_noise_beats_carry_none():
    rec = _record("ds1", "mitdb", list(range(125, 2500, 200)), [0] * 12, shape=True)
    assert rec.rr_feat.shape == (12, 3 + MORPH_DIM)
    D.set_beat_features(True)
    assert D.RR_DIM == RR_DIM_BASE + MORPH_DIM
    assert rec.rr_window(0).shape == (D.TOKENS, D.RR_DIM)
    pos, f = D.random_rr(np.random.default_rng(0))
    assert f.shape == (len(pos), 3 + MORPH_DIM) and not f[:, 3:].any()


def test_the_sampler_weighs_groups_by_their_configured_share():
    recs = [_record("ds1", "mitdb", [300, 500], [0, 0], seconds=30), _record("ds1", "mitdb", [300], [0], seconds=20),
            _record("ptbxl", "ptbxl")]
    smp = D.Sampler(recs, np.random.default_rng(0), balance=True, aug=False, group_w={"ds1": 0.75, "ptbxl": 0.25})
    grp = np.array([recs[i].spec.group for i in smp.cand_r])
    assert smp.w[grp == "ds1"].sum() == pytest.approx(0.75) and smp.w[grp == "ptbxl"].sum() == pytest.approx(0.25)


# ---- the product pipeline's options ----------------------------------------------------------------------------

@pytest.mark.parametrize("option", [["--beat-context"], ["--n-beat-sources"], ["--n-beat-max-rr-dev", "0.15"],
                                    ["--wide-n-weight", "0.04"], ["--morph-features"], ["--s-gate"],
                                    ["--arch", "stride16"]])
def test_the_removed_experiment_options_are_not_accepted(option, capsys):
    with pytest.raises(SystemExit) as e:
        P.main(option)
    assert e.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err
