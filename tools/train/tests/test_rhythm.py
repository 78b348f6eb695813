"""Unit tests of the rhythm stage's scoring and labels (tools/train/ecgnat/rhythm.py): run with
`PYTHONPATH=tools/train /usr/bin/python3 -m pytest tools/train/tests`."""
import os

import numpy as np
import pytest

from ecgnat import beats as B
from ecgnat import rhythm as R
from ecgnat import wfdb

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def windows(record_windows, stream=None):
    """Windows of one record: list of (t0, t1, y, p_af network)."""
    n = len(record_windows)
    N = np.zeros((n, 4))
    N[:, 1] = [w[3] for w in record_windows]
    N[:, 0] = 1 - N[:, 1]
    X = np.zeros((n, 1))
    return R.Windows(["x"], X, X.copy(), np.array(stream if stream is not None else [100.0] * n), N, N.copy(),
                     np.array([w[2] for w in record_windows]), np.array(["mitdb"] * n), np.array(["r"] * n),
                     np.array([w[0] for w in record_windows], dtype=float), np.array([w[1] for w in record_windows], dtype=float),
                     {("mitdb", "r"): (30.0, [(10.0, 30.0)])})


def test_decisions_cover_the_record_once_and_follow_the_smoothed_posterior():
    w = windows([(0, 10, 0, 0.0), (5, 15, 0, 0.0), (10, 20, 1, 1.0), (15, 25, 1, 1.0), (20, 30, 1, 1.0)])
    decs = R.decisions(w, w.N)
    spans = [(a, b) for _, _, a, b, _ in decs]
    assert spans[0][0] == 0 and spans[-1][1] == 30
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))   # contiguous, no overlap
    af = [(a, b) for _, _, a, b, x in decs if x]
    assert af[0][0] == pytest.approx(12.5)   # window 2's decision span: smoothing with windows 1 and 3 (2 of 3 AF)


def test_duration_scores_count_overlap_against_the_reference():
    w = windows([(0, 10, 0, 0.0), (5, 15, 0, 0.0), (10, 20, 1, 1.0), (15, 25, 1, 1.0), (20, 30, 1, 1.0)])
    s = R.score(w, [("mitdb", "r", 0.0, 12.5, False), ("mitdb", "r", 12.5, 30.0, True)])["mitdb"]
    assert s.ref_s == 20 and s.det_s == 17.5 and s.tp_s == 17.5
    assert s.se == pytest.approx(87.5) and s.ppv == 100
    assert s.rec_af == 1 and s.rec_tp == 1 and s.rec_nonaf == 0


def test_the_threshold_maps_to_half_and_noise_and_vt_keep_their_share():
    net = np.array([[0.5, 0.2, 0.2, 0.1]])
    out = R.fused_probabilities(net, np.array([0.7]), 0.7)
    assert out[0, 1] == pytest.approx(out[0, 0])          # P(AF) at the threshold: AF and sinus tie
    assert out[0, 1] + out[0, 0] == pytest.approx(0.7)    # what noise and VT/VF leave
    assert out[0, 2] == 0.2 and out[0, 3] == 0.1


def test_within_each_class_every_source_weighs_the_same():
    w = windows([(0, 10, 0, 0.0)] * 6)
    w.source[:] = ["a", "a", "a", "a", "b", "b"]
    w.y[:] = [0, 0, 0, 1, 0, 1]
    sw = R.source_weights(w, np.ones(6, dtype=bool))
    assert sw[:3].sum() == pytest.approx(sw[4])            # the non-AF windows: source a as much as source b
    assert sw[3] == pytest.approx(sw[5])                   # the AF windows likewise
    assert sw[[0, 1, 2, 4]].sum() == pytest.approx(4)      # the classes keep their pooled share
    assert sw[[3, 5]].sum() == pytest.approx(2)


def test_the_record_signature_is_the_one_the_device_computes():
    h = wfdb.read_header(os.path.join(ROOT, "src", "EcgEdge", "Resources", "mitdb", "201"))
    assert wfdb.signature(h) == "201/360/650000/-519"     # C#: WfdbHeader.Signature (TrainingMembershipTests)


def test_the_textbook_rr_rule_calls_a_premature_beat_with_a_pause_s():
    t = np.arange(20) * 1.0
    t[10] = 9.6                                            # premature by 40 %, then a long interval
    b = B.Beats(["x"], np.zeros((20, 1)), np.array(["N"] * 20), np.array(["N"] * 20), np.array(["mitdb"] * 20),
                np.array(["r"] * 20), (t * 360).astype(int), {("mitdb", "r"): 360.0}, {})
    called = B.rr_rule(b, np.array(["N"] * 20, dtype=object))
    assert list(np.where(called == "S")[0]) == [10]
    network = np.array(["N"] * 20, dtype=object)
    network[[3, 5]] = ["S", "V"]                           # the network's S is not the rule's; its V is kept
    called = B.rr_rule(b, network)
    assert list(np.where(called == "S")[0]) == [10] and called[5] == "V" and called[3] == "N"


def test_beat_scores_count_missed_reference_beats_as_missed():
    b = B.Beats(["x"], np.zeros((3, 1)), np.array(["V", "N", "V"]), np.array(["N"] * 3), np.array(["mitdb"] * 3),
                np.array(["r"] * 3), np.array([1, 2, 3]), {("mitdb", "r"): 360.0}, {("mitdb", "r"): {"V": 1}})
    s = B.score(b, np.array(["V", "V", "N"]))["mitdb"]["veb"]
    assert (s.tp, s.fn, s.fp) == (1, 2, 1)


def test_af_episode_logic_bridges_noise_and_vt_between_af_only():
    """The same cases as tests/EcgEdge.Tests/Inference/Rhythm/AfEpisodesTests.cs (AfEpisodes in C#)."""
    S, A, N, V = 0, 1, 2, 3

    def decs(*cls, rec="r"):
        return [("mitdb", rec, 5.0 * i, 5.0 * (i + 1), c) for i, c in enumerate(cls)]

    def af(d, bridge=R.AF_BRIDGE_S):
        return [x[4] for x in R.bridge_af(d, bridge)]

    assert af(decs(S, A, A, N, V, N, A, S)) == [False, True, True, True, True, True, True, False]
    assert af(decs(S, A, N, N, S, S)) == [False, True, False, False, False, False]
    assert af(decs(N, V, A, N)) == [False, False, True, False]
    assert af(decs(A, N, S, N, A)) == [True, False, False, False, True]
    assert all(af(decs(A, *[N] * 12, A)))                    # 60 s: bridged
    assert not any(af(decs(A, *[V] * 13, A))[1:-1])          # 65 s: not
    assert af(decs(A, N, A), bridge=0.0) == [True, False, True]
    # another record's AF does not close a stretch
    assert af(decs(A, N) + decs(A, rec="q")) == [True, False, True]


def _sv_beats(rr, sinus_p, **kw):
    """Beats at the RR intervals (s) with the evidence columns sv_runs reads: a dominant narrow QRS, P like the sinus P
    where sinus_p(i), outside AF."""
    import importlib
    t = np.concatenate([[0.0], np.cumsum(rr)])
    n = len(t)
    names = ["qrs_dominant", "qrs_width_ratio", "p_present", "p_template", "p_corr", "af_context"]
    X = np.zeros((n, len(names)))
    X[:, 0], X[:, 1], X[:, 2], X[:, 3] = 1, 1, 1, 1
    X[:, 4] = [0.97 if sinus_p(i) else 0.5 for i in range(n)]
    b = B.Beats(names, X, np.array(["N"] * n), np.array(["N"] * n), np.array(["mitdb"] * n), np.array(["r"] * n),
                np.round(t * 500).astype(int), {("mitdb", "r"): 500.0}, {})
    rr_rules = importlib.import_module("beats.rr_rules")
    return rr_rules.sv_runs(b, np.array(["N"] * n, dtype=object), **kw)


def test_sv_runs_matches_the_device_rule_on_the_cases_of_its_csharp_tests():
    """The same cases as tests/EcgEdge.Tests/Inference/Rhythm/SupraventricularRuleTests.cs (SupraventricularRule)."""
    apb = [0.8] * 11 + [0.5, 1.0] + [0.8] * 8
    assert list(np.where(_sv_beats(apb, lambda i: True) == "S")[0]) == [12]
    run = [0.8] * 11 + [0.45] * 6 + [1.0] + [0.8] * 6
    assert list(np.where(_sv_beats(run, lambda i: i < 12 or i > 17) == "S")[0]) == [12, 13, 14, 15, 16, 17]
    assert list(np.where(_sv_beats(run, lambda i: True) == "S")[0]) == [12]
    gradual = [0.8] * 11 + [0.8 * 0.98 ** k for k in range(1, 21)]
    assert not (_sv_beats(gradual, lambda i: True) == "S").any()


def test_the_accelerating_run_experiment_keeps_a_warming_up_run_and_leaves_the_shipped_rule_alone():
    """sv_runs_accelerate (rr_rules.py, not shipped): a run whose second interval is 13 % shorter than its first (the
    warm-up of an atrial tachycardia; not abrupt enough to open a run of its own) stays S; the shipped rule ends it at
    the 12 % tolerance."""
    warm = [0.8] * 11 + [0.5] + [0.435] * 5 + [1.0] + [0.8] * 6
    assert list(np.where(_sv_beats(warm, lambda i: i < 12 or i > 17, accelerate=True) == "S")[0]) == [12, 13, 14, 15, 16, 17]
    assert list(np.where(_sv_beats(warm, lambda i: i < 12 or i > 17) == "S")[0]) == [12]
    gradual = [0.8] * 11 + [0.8 * 0.98 ** k for k in range(1, 21)]
    assert not (_sv_beats(gradual, lambda i: True, accelerate=True) == "S").any()


def _compare_designs():
    import importlib
    return importlib.import_module("experiments.compare_designs")


def test_the_paired_bootstrap_reads_identical_designs_as_equal_and_a_better_one_as_better():
    cd = _compare_designs()
    # AF s, true-positive s, called s, non-AF duration s, called there
    base = np.array([[100, 80, 90, 0, 0], [200, 150, 160, 0, 0], [0, 0, 0, 1000, 10], [0, 0, 0, 500, 0]], dtype=float)
    same = cd.paired_bootstrap(base, base.copy(), n=200)
    assert same["f1"] == {"diff": 0.0, "lo": 0.0, "hi": 0.0}
    assert same["false_af_pct"] == {"diff": 0.0, "lo": 0.0, "hi": 0.0}
    better = base.copy()
    better[:2, 1] = better[:2, 2] = better[:2, 0]     # every AF second found, nothing else called
    better[2, 4] = 0.0                                 # and no false AF
    r = cd.paired_bootstrap(base, better, n=200)
    assert r["f1"]["diff"] > 0 and r["f1"]["lo"] >= 0
    assert r["false_af_pct"]["diff"] == pytest.approx(-100 * 10 / 1500)
    with pytest.raises(ValueError):
        cd.paired_bootstrap(base, base[:3], n=10)


def test_the_record_table_reads_true_positive_time_back_from_the_reported_se():
    cd = _compare_designs()
    report = {"mitdb/201": {"af_s": 600.0, "called_af_s": 590.0, "dur_se": 95.0}, "mitdb/208": {"af_s": 0.0, "called_af_s": 5.0, "dur_se": None}}
    t = cd.record_table(report, [("mitdb/201", 1800.0, 600.0), ("mitdb/208", 1800.0, 0.0), ("mitdb/100", 1800.0, 0.0)])
    assert t.tolist() == [[600.0, 570.0, 590.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1800.0, 5.0], [0.0, 0.0, 0.0, 1800.0, 0.0]]
    f1, false_pct = cd.figures(t)
    assert f1 == pytest.approx(2 * 0.95 * (570 / 595) / (0.95 + 570 / 595))   # 208's 5 false seconds count in +P
    assert false_pct == pytest.approx(100 * 5 / 3600)


def test_class_f1_pools_the_records_counts():
    import importlib
    rr_rules = importlib.import_module("beats.rr_rules")
    t = np.array([[8, 2, 0, 0, 0, 0], [2, 0, 2, 5, 5, 0]], dtype=float)   # S tp, fn, fp; V tp, fn, fp per record
    s, v = rr_rules.class_f1(t)
    assert s == pytest.approx(200 * 10 / (20 + 2 + 2)) and v == pytest.approx(200 * 5 / (10 + 5))
    assert rr_rules.class_f1(t, np.array([0, 0]))[1] != rr_rules.class_f1(t, np.array([0, 0]))[1]   # no V there: NaN


def test_pooled_figures_count_false_af_on_records_without_af_in_the_positive_predictivity():
    cd = _compare_designs()
    t = np.array([[600.0, 570.0, 590.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1800.0, 5.0]])
    x = cd.pooled(t)
    assert x["se"] == pytest.approx(95.0) and x["ppv"] == pytest.approx(100 * 570 / 595)
    assert x["f1"] == pytest.approx(cd.figures(t)[0]) and x["false_af_pct"] == pytest.approx(100 * 5 / 1800)


DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")


def test_a_cv_run_says_whether_it_trained_on_qtdb(tmp_path):
    import json
    from ecgnat import data as D
    assert not D.qtdb_in_run(str(tmp_path))                                  # no build summary: the shipped recipe
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "data.json").write_text(json.dumps({"by_group": {"ds1": {}, "qtdb": {}}}))
    assert D.qtdb_in_run(str(tmp_path))


@pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "qtdb")), reason="../shared/data/qtdb absent")
def test_qtdb_records_are_tested_by_the_fold_that_did_not_train_on_them():
    import importlib
    from ecgnat import data as D
    export_oof = importlib.import_module("rhythm.export_oof")
    plain = export_oof.fold_groups(DATA)
    assert not any(src == "qtdb" for _, src, _, _ in plain)
    g = export_oof.fold_groups(DATA, qtdb=True)
    where = {r: (fold, mains) for (fold, src, _, mains), recs in g.items() if src == "qtdb" for r in recs}
    assert where["sel114"] == (D.fold_of_ds1(114), 60.0)                      # with its MIT-BIH record's fold
    assert where["sele0106"][1] == 50.0
    assert "sel102" not in where and "sel30" not in where                   # paced patient trains every fold; no .atr
    assert len(where) == 71


def test_compare_against_another_runs_export_pairs_the_records_both_hold(capsys):
    """rr_rules.py --compare BASE NEW --against DIR: NEW's calls are the other export's, scored on its own beats, and
    only the records both exports hold are compared."""
    import importlib
    rr_rules = importlib.import_module("beats.rr_rules")

    def beats(records, ref):
        n = len(ref)
        return B.Beats(["x"], np.zeros((n, 1)), np.array(ref), np.array(["N"] * n), np.array(["mitdb"] * n),
                       np.array(records), np.arange(n) * 400, {("mitdb", r): 360.0 for r in set(records)}, {})
    base = beats(["a", "a", "b", "b"], ["V", "N", "V", "N"])
    new = beats(["a", "a", "b", "b", "c", "c"], ["V", "N", "V", "N", "V", "V"])
    rr_rules.compare(base, np.array(["N", "N", "N", "N"]), np.array(["V", "N", "V", "N", "N", "N"]), ("base", "new"), new)
    out = capsys.readouterr().out
    line = [ln for ln in out.splitlines() if ln.startswith("mitdb")][0]
    assert "2 records" in line                               # record c (only in the new export) is left out
    assert "VEB +100.0 [+100.0, +100.0]" in line             # base finds no V, new finds both


@pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "mitdb")), reason="../shared/data absent")
def test_a_fold_manifest_lists_what_that_fold_network_trained_on_not_the_shipped_ones(tmp_path):
    """compare_cs.fold_training_signatures: eval of a fold network says its held-out records were not fine-tuned on
    (only pre-trained on, without labels), and counts QTDB's excerpt of a trained MIT-BIH record as trained."""
    import importlib
    from ecgnat import data as D
    from ecgnat import wfdb
    compare_cs = importlib.import_module("compare_cs")
    t = compare_cs.fold_training_signatures(DATA, 0, str(tmp_path))      # a run without QTDB
    sig = lambda folder, rec: wfdb.signature(wfdb.read_header(os.path.join(DATA, folder, rec)))  # noqa: E731
    for rec in D.DS1_FOLDS[0]:
        assert sig("mitdb", str(rec)) not in t["network"]
        assert sig("mitdb", str(rec)) in t["network_pretraining"]
    assert sig("mitdb", "114") in t["network"]                               # fold 3
    if os.path.isdir(os.path.join(DATA, "qtdb")):
        assert sig("qtdb", "sel114") in t["network"] and sig("qtdb", "sel230") not in t["network"]
        assert sig("qtdb", "sel803") not in t["network"]                     # this run never trained on QTDB


def test_the_dominant_beat_veto_twin_matches_the_device_cases():
    """v_rules.dominant_veto against SupraventricularRuleTests' veto cases: a V like the dominant beat at a normal rate
    becomes N; at >= 100 bpm, after a V, wider than 1.2x or outside the dominant cluster it stays V."""
    import importlib
    v_rules = importlib.import_module("beats.v_rules")

    def run(rr, v, dominant=lambda i: True, width=lambda i: 1.0):
        t = np.concatenate([[0.0], np.cumsum(rr)])
        n = len(t)
        X = np.array([[1.0 if dominant(i) else 0.0, width(i)] for i in range(n)])
        b = B.Beats(["qrs_dominant", "qrs_width_ratio"], X, np.array(["N"] * n), np.array(["N"] * n),
                    np.array(["mitdb"] * n), np.array(["r"] * n), np.round(t * 500).astype(int), {("mitdb", "r"): 500.0}, {})
        net = np.array(["V" if v(i) else "N" for i in range(n)], dtype=object)
        like = (X[:, 0] == 1) & (X[:, 1] <= 1.2)
        return [i for i, c in enumerate(v_rules.dominant_veto(b, net, like)) if c == "V"]
    early = [0.8] * 11 + [0.65, 1.0] + [0.8] * 8
    assert run(early, lambda i: i == 5) == []
    assert run(early, lambda i: i == 12, width=lambda i: 1.5 if i == 12 else 1.0) == [12]
    assert run(early, lambda i: i == 12, dominant=lambda i: i != 12) == [12]
    assert run(early, lambda i: i in (12, 13), dominant=lambda i: i != 12) == [12, 13]
    fast = [0.8] * 11 + [0.45] * 6 + [1.0] + [0.8] * 6
    assert run(fast, lambda i: 12 <= i <= 17) == [12, 13, 14, 15, 16, 17]
