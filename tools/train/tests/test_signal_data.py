"""Invariants of the training pipeline's signal chain, labels, beat features and export contract (tools/train/ecgnat):
what the device must compute the same way, and what the training data must never violate. Run with
`PYTHONPATH=tools/train /usr/bin/python3 -m pytest tools/train/tests`."""
import json
import os

import numpy as np
import pytest
from scipy import signal as ss

from ecgnat import config as C
from ecgnat import data as D
from ecgnat import signal as S
from ecgnat import wfdb

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUNDLED = os.path.join(ROOT, "src", "EcgEdge", "Resources", "mitdb", "201")
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")     # the pipeline's default --data


# ---- signal chain (the contract with src/EcgEdge.Conditioning) -------------------------------------------------

def test_the_cascade_passes_qrs_band_and_removes_baseline_mains_and_high_frequencies():
    sos = S.design_sos(50.0)
    w, h = ss.sosfreqz(sos, worN=np.array([0.05, 10.0, 50.0, 100.0]), fs=S.FS_COND)
    gain = np.abs(h)
    assert gain[0] < 0.02          # 0.05 Hz baseline wander: high-pass 0.5 Hz, order 2
    assert 0.95 < gain[1] < 1.05   # 10 Hz (QRS energy) passes
    assert gain[2] < 0.01          # the mains notch
    assert gain[3] < 0.05          # 100 Hz: low-pass 40 Hz, order 4


def test_60_hz_mains_moves_the_notch():
    _, h50 = ss.sosfreqz(S.design_sos(50.0), worN=np.array([60.0]), fs=S.FS_COND)
    _, h60 = ss.sosfreqz(S.design_sos(60.0), worN=np.array([60.0]), fs=S.FS_COND)
    assert abs(h60[0]) < 0.01 < abs(h50[0])


def test_conditioning_starts_without_a_transient_on_an_offset_and_is_causal():
    # A constant offset (electrode polarisation): the initial state sosfilt_zi * x[0] starts the filters settled.
    x = np.full((2, 5000), 1500.0)
    y = S.condition_record(x, 500, 50)
    assert y.shape == (2, 2500) and y.dtype == np.float32
    assert np.max(np.abs(y)) < 1e-3  # mV
    # Causal: an impulse at t shows nothing before t.
    imp = np.zeros((1, 5000))
    imp[0, 3000] = 1000.0
    yi = S.condition_500(imp, 50)
    assert np.all(yi[0, :3000] == 0.0)


def test_resampling_keeps_time_and_amplitude_of_a_slow_sine():
    fs = 360
    t = np.arange(fs * 10) / fs
    x = 1000 * np.sin(2 * np.pi * 1.0 * t)
    y = S.resample_to_500(x[None, :], fs)[0]
    t5 = np.arange(len(y)) / 500
    mid = slice(500, len(y) - 500)  # away from the edges
    assert len(y) == 5000
    assert np.max(np.abs(y[mid] - 1000 * np.sin(2 * np.pi * t5[mid]))) < 5.0  # µV


def test_group_delay_and_index_mapping_are_the_documented_small_integers():
    d = S.qrs_group_delay_samples(50.0)
    assert 0 <= d <= 10  # 250-Hz samples: under 40 ms at QRS frequencies
    np.testing.assert_array_equal(S.sample_to_model_index(np.array([0, 360, 720]), 360), [0, 250, 500])


# ---- labels and folds ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("aux, label", [("(AFIB", D.R_AF), ("(AFL\x00", D.R_AF), ("(VT", D.R_VT), ("(VFL", D.R_VT),
                                        ("(N", D.R_SINUS), ("(B", D.R_SINUS), ("(SVTA", D.R_SINUS)])
def test_rhythm_labels_of_mit_bih_aux_strings(aux, label):
    assert D.rhythm_of_aux(aux) == label


def test_ds1_folds_partition_the_records_and_are_stable():
    all_recs = [r for f in D.DS1_FOLDS for r in f]
    assert len(all_recs) == len(set(all_recs))              # no record in two folds
    assert all(D.fold_of_ds1(r) == k for k, f in enumerate(D.DS1_FOLDS) for r in f)
    assert D.fold_of_ds1(99999) == -1
    assert D.hashed_fold("ptbxl/00001") == D.hashed_fold("ptbxl/00001")
    assert 0 <= D.hashed_fold("x") < D.N_FOLDS


def test_lead_names_map_onto_the_device_channel_order():
    assert D.lead_channel("MLII") == D.LEADS.index("II")
    assert D.lead_channel(" v1 ") == D.LEADS.index("V1")
    assert D.lead_channel("aVR") == -1  # the front-end acquires I, II, V1-V6 only; augmented leads are derived


def test_qtdb_signals_feed_the_channels_the_device_replays_them_on():
    # recognised labels feed their channel once; none recognised (Holter CM5/CC5, QTDB's unnamed "0"): the first is II
    assert D.device_lead_map(["MLII", "V1"]) == [1, 2]
    assert D.device_lead_map(["D3", "V4"]) == [-1, 5]
    assert D.device_lead_map(["CM5", "CC5"]) == [1, -1]
    assert D.device_lead_map(["0", "1"]) == [1, -1]
    assert D.device_lead_map(["V5", "V5"]) == [6, -1]
    assert D.device_lead_map(["ML II", "mlv1"]) == [1, 2]


def test_the_device_lead_names_are_the_ones_its_parser_accepts():
    """DEVICE_LEAD_NAMES is the twin of Leads.TryParse (src/EcgEdge.Core/Signals/Lead.cs): the same labels, the same
    channels; a label added on one side only fails here."""
    import re
    src = open(os.path.join(ROOT, "src", "EcgEdge.Core", "Signals", "Lead.cs")).read()
    cs = {}
    for line in src.splitlines():
        m = re.search(r"lead = Lead\.(\w+); return true;", line)
        if m:
            for label in re.findall(r'case "([^"]+)":', line):
                cs[label.replace(" ", "")] = D.LEADS.index(m.group(1))
    assert cs == D.DEVICE_LEAD_NAMES


def test_qtdb_excerpts_of_mit_bih_patients_share_their_fold():
    assert D.qtdb_fold("sel114") == D.fold_of_ds1(114) >= 0
    assert D.qtdb_fold("sel230") == D.fold_of_ds1(230)
    assert D.qtdb_fold("sel102") == -1                       # paced patient: mitdb 102 trains every fold
    assert D.qtdb_fold("sel803") == D.hashed_fold("qtdbsel803")
    assert C.finetune_groups(False) is C.FINETUNE_GROUPS     # the shipped recipe is untouched
    assert C.finetune_groups(True)["qtdb"] == C.QTDB_FINETUNE_WEIGHT


@pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "qtdb")), reason="../shared/data/qtdb absent")
def test_qtdb_beat_source_is_the_annotated_records_with_their_mains_and_patients():
    specs = D.qtdb_specs(DATA)
    by = {s.record: s for s in specs}
    assert len(specs) == sum(os.path.exists(os.path.join(DATA, "qtdb", s.record + ".atr")) for s in specs) == 73
    assert "sel30" not in by                                 # sudden-death excerpts carry no beat annotations
    assert by["sele0106"].mains == 50.0 and by["sel803"].mains == 60.0
    assert by["sel114"].patient == "mitdb114" and by["sel114"].fold == D.fold_of_ds1(114)
    assert not any(s.dataset == "qtdb" for s in D.catalogue(DATA))
    assert sum(s.dataset == "qtdb" for s in D.catalogue(DATA, qtdb_beats=True)) == 73


def test_smoke_subset_is_a_subset_of_the_full_folds():
    # The smoke run must exercise the same code paths on records that exist in the full catalogue.
    smoke_ds1 = [r for f in C.SMOKE["subset"]["ds1"] for r in f]
    assert all(D.fold_of_ds1(r) >= 0 for r in smoke_ds1)
    assert set(C.SMOKE) >= set(C.FULL) - {"subset"}
    assert abs(sum(C.PRETRAIN_GROUPS.values()) - 1.0) < 1e-9
    assert abs(sum(C.FINETUNE_GROUPS.values()) - 1.0) < 1e-9


# ---- beat features (the contract with src/EcgEdge.Inference) ---------------------------------------------------

def test_rr_features_of_a_regular_rhythm_are_zero_and_a_premature_beat_stands_out():
    fs = D.FS
    pos = np.arange(20) * fs  # 60 bpm
    f = D.rr_features(pos, fs)
    assert f.shape == (20, 3)
    np.testing.assert_allclose(f[:, :2], 0, atol=1e-6)
    np.testing.assert_allclose(f[1:, 2], np.clip(1.0 - D.RR_MED_CENTRE, *D.RR_MED_CLIP), atol=1e-6)
    early = pos.copy()
    early[10] -= int(0.4 * fs)  # 400 ms premature
    g = D.rr_features(early, fs)
    assert g[10, 0] < -0.3 and g[10, 1] > 0.3  # short before, compensatory pause after
    assert D.rr_features(np.zeros(0, np.int64), fs).shape == (0, 3)


def test_rr_features_stay_inside_their_clips():
    rng = np.random.default_rng(1)
    pos = np.cumsum(rng.uniform(0.2, 3.0, 300) * D.FS).astype(np.int64)
    f = D.rr_features(pos, D.FS)
    assert np.all(f[:, 0] >= D.RR_CLIP[0]) and np.all(f[:, 0] <= D.RR_CLIP[1])
    assert np.all(f[:, 2] >= D.RR_MED_CLIP[0]) and np.all(f[:, 2] <= D.RR_MED_CLIP[1])


def test_shape_features_are_zero_for_the_patients_usual_beat_and_large_for_another_shape():
    fs = D.FS
    n = 40
    pos = (np.arange(n) + 1) * fs
    sig = np.zeros((1, (n + 2) * fs))
    width = int(0.02 * fs)
    for i, p in enumerate(pos):
        if i == 30:  # a wide, inverted beat (ventricular-looking) among narrow upright ones
            sig[0, p - 3 * width:p + 3 * width] -= np.hanning(6 * width) * 1.5
        else:
            sig[0, p - width:p + width] += np.hanning(2 * width)
    f = D.morph_features(sig, np.array([D.LEADS.index("II")]), pos)
    assert f.shape == (n, D.MORPH_DIM)
    np.testing.assert_allclose(f[:D.MORPH_MIN_HISTORY], 0)    # no template yet
    assert np.max(np.abs(f[D.MORPH_MIN_HISTORY:30])) < 1e-6    # the usual beat: ~0 whatever its shape
    assert f[30, 0] > 0.5                                       # 1 - correlation of the other shape


def test_rr_tensor_marks_beat_tokens_and_carries_their_features():
    D.set_beat_features(False)
    tokens = 312
    feat = np.array([[0.1, -0.2, 0.05], [0.0, 0.0, 0.0]], np.float32)
    t = D.rr_tensor(np.array([8, 2000]), feat, tokens=tokens)
    assert t.shape == (tokens, D.RR_DIM)
    stride = D.TOKEN_STRIDE
    assert t[8 // stride, 0] == 1.0 and np.allclose(t[8 // stride, 1:], feat[0])
    assert t[:, 0].sum() == 2


# ---- data reading and export contract ---------------------------------------------------------------------------

def test_the_bundled_record_reads_with_a_valid_checksum_and_calibrated_units():
    hdr, dig = wfdb.read_record(BUNDLED)
    assert dig.shape == (hdr.nsig, hdr.nsamp) == (2, 650000)
    assert wfdb.checksum_ok(hdr, dig)
    uv = wfdb.to_microvolts(hdr, dig)
    assert 200 < np.percentile(np.abs(uv[0]), 99.9) < 5000  # an ECG in µV, not ADC units or volts


def test_the_shipped_manifest_matches_the_pipeline_and_its_files():
    """The export contract: what the manifest tells the device equals what this pipeline computes, and its files are
    the ones shipped (the device checks the hashes too; this catches a re-export that forgot the manifest)."""
    import hashlib
    models = os.path.join(ROOT, "models")
    with open(os.path.join(models, "ecg-nat.manifest.json")) as f:
        m = json.load(f)
    assert m["channel_order"] == D.LEADS
    assert m["sample_rate_hz"] == S.FS_MODEL and m["conditioning_rate_hz"] == S.FS_COND and m["decimation"] == S.DECIM
    assert m["window_samples"] == 10 * S.FS_MODEL
    assert m["token_stride"] == D.TOKEN_STRIDE and m["fine_tokens"] == D.TOKENS
    assert m["rr_features"]["clip"] == list(D.RR_CLIP) and m["rr_features"]["median_clip"] == list(D.RR_MED_CLIP)
    assert m["rr_features"]["median_centre_s"] == D.RR_MED_CENTRE and m["rr_features"]["history_intervals"] == D.RR_HISTORY
    ecg = next(i for i in m["inputs"] if i["name"] == "ecg")
    assert ecg["shape"][1:] == [len(D.LEADS), 10 * S.FS_MODEL]
    for entry in m["files"].values():
        with open(os.path.join(models, entry["path"]), "rb") as f:
            blob = f.read()
        assert len(blob) == entry["bytes"]
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"]
