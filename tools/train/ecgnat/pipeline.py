"""End-to-end pipeline: build -> pretrain -> final fine-tune -> export/int8/validate/reference -> CV -> model card.

Every stage writes its result into the work dir and is skipped when re-run (resumable). Run via tools/train/train.sh.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import zlib

import numpy as np
import torch

from . import __version__
from . import data as D
from . import evaluate as E
from . import from_onnx
from . import export as X
from . import feature_head as FH
from . import signal as S
from . import signing
from . import train as T
from .model import HEAD_BEATS, EcgNat, ModelConfig, count_macs, count_params

# The run configurations live in config.py (the model card reads them too, without importing the pipeline).
from .config import FINETUNE_GROUPS, FULL, PRETRAIN_GROUPS, SMOKE, finetune_groups  # noqa: E402,F401


class Ctx:
    def __init__(self, args, cfg):
        self.args, self.cfg = args, cfg
        self.work = args.work
        os.makedirs(os.path.join(self.work, "results"), exist_ok=True)
        os.makedirs(os.path.join(self.work, "ckpt"), exist_ok=True)
        self.logf = open(os.path.join(self.work, "pipeline.log"), "a")
        self.t0 = time.time()
        self.state_path = os.path.join(self.work, "results", "timing.json")
        self.state = json.load(open(self.state_path)) if os.path.exists(self.state_path) else {"stages": {}}

    def log(self, msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        self.logf.write(line + "\n")
        self.logf.flush()

    def rpath(self, name):
        return os.path.join(self.work, "results", name)

    def have(self, name):
        return os.path.exists(self.rpath(name))

    def save(self, name, obj):
        tmp = self.rpath(name) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1, default=_jsonable)
        os.replace(tmp, self.rpath(name))

    def load(self, name):
        with open(self.rpath(name)) as f:
            return json.load(f)

    def stage_done(self, name, t_start):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        st = self.state["stages"].get(name, {"wall_s": 0.0})
        st["wall_s"] = st.get("wall_s", 0.0) + (time.time() - t_start)
        st["peak_rss_mb"] = max(st.get("peak_rss_mb", 0.0), peak)
        self.state["stages"][name] = st
        self.state["peak_rss_mb"] = max(self.state.get("peak_rss_mb", 0.0), peak)
        self.state["total_wall_s"] = sum(v["wall_s"] for v in self.state["stages"].values())
        with open(self.state_path, "w") as f:
            json.dump(self.state, f, indent=1)


def _jsonable(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def seed_all(seed):
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))


def run_seed(base, *parts):
    return (base * 1000003 + zlib.crc32("/".join(map(str, parts)).encode())) % (2 ** 31)


# ---------------------------------------------------------------------------------------------------------------
def select_specs(cfg, all_specs):
    if "subset" not in cfg:
        return all_specs, None
    sub = cfg["subset"]
    ds1 = {str(r): k for k, fold in enumerate(sub["ds1"]) for r in fold}
    out, cnt = [], {}
    for s in all_specs:
        if s.dataset == "mitdb":
            if s.record in ds1:
                s.fold = ds1[s.record]
                out.append(s)
            elif int(s.record) in sub["paced"]:
                out.append(s)
        elif s.group == "nst":
            if s.record in sub["nst"]:
                out.append(s)
        elif s.group == "noise":
            if s.record in sub["noise"]:
                out.append(s)
        else:
            c = cnt.get(s.group, 0)
            if c < sub.get(s.group, 0):
                s.fold = c % len(sub["ds1"])
                out.append(s)
                cnt[s.group] = c + 1
    return out, len(sub["ds1"])


def stage_build(ctx):
    t = time.time()
    specs = D.catalogue(ctx.args.data, ctx.args.qtdb_beats)
    specs, nf = select_specs(ctx.cfg, specs)
    if ctx.cfg["name"] == "full":
        # mitdb 118 is needed for the em noise source (118e00 - 118); it is in DS1 already.
        pass
    cache = D.build_cache(ctx.args.data, ctx.args.cache, specs, ctx.log)
    recs = D.load_records(cache, specs, ctx.cfg["max_len"], ctx.args.feature_head)
    ctx.n_folds = nf or D.N_FOLDS
    ctx.recs = recs
    ctx.byname = {r.spec.record: r for r in recs if r.spec.dataset in ("mitdb", "nstdb")}
    ctx.bank_train = D.NoiseBank(ctx.byname, "train")
    ctx.bank_eval = D.NoiseBank(ctx.byname, "eval")
    summary = {"n_records": len(recs), "cache": cache, "by_group": {}}
    for r in recs:
        g = summary["by_group"].setdefault(r.spec.group, {"records": 0, "hours": 0.0, "beats": [0] * 5,
                                                         "windows_10s": 0, "rhythm_af_records": 0})
        g["records"] += 1
        g["hours"] += r.n / D.FS / 3600
        g["windows_10s"] += len(r.grid_starts())
        for c in range(5):
            g["beats"][c] += int(np.sum(r.beat_cls == c))
        g["rhythm_af_records"] += int(np.any(r.rhy_cls == D.R_AF))
    summary["noise_sources"] = ctx.bank_train.names
    if not ctx.have("data.json"):
        ds1 = [r for r in recs if r.spec.group == "ds1"]
        summary["ds1_folds"] = {str(k): [r.spec.record for r in ds1 if r.spec.fold == k] for k in range(ctx.n_folds)}
        summary["ds1_per_record"] = {r.spec.record: {"fold": r.spec.fold, "beats": [int(np.sum(r.beat_cls == c)) for c in range(5)],
                                                     "af_windows": int(sum(r.window_rhythm(int(s), False) == D.R_AF for s in r.grid_starts())),
                                                     "vt_windows": int(sum(r.window_rhythm(int(s), False) == D.R_VT for s in r.grid_starts())),
                                                     "leads": [D.LEADS[c] for c in r.chans]} for r in ds1}
        summary["qrs_group_delay_samples_250hz"] = {"50": S.qrs_group_delay_samples(50.0), "60": S.qrs_group_delay_samples(60.0)}
        ctx.save("data.json", summary)
    ctx.log(f"[build] {len(recs)} records loaded; noise sources {ctx.bank_train.names}")
    ctx.stage_done("build", t)


def pools(ctx, fold):
    """(train records, test records) for a fold; fold None = final model (all labelled records)."""
    lab = [r for r in ctx.recs if r.spec.group in ctx.finetune_groups]
    if fold is None:
        return lab, []
    tr = [r for r in lab if r.spec.fold != fold]
    te = [r for r in lab if r.spec.fold == fold]
    return tr, te


def head_records(ctx, fold):
    """Records the feature head of a fold's model (fold None: the final model's) learns from: the fold's training
    records with beats, plus the NST records (118 with electrode noise, so the head sees noisy shapes) unless their
    patient is among the fold's test records."""
    tr, te = pools(ctx, fold)
    test_patients = {r.spec.patient for r in te}
    nst = [r for r in ctx.recs if r.spec.group == "nst" and r.spec.patient not in test_patients]
    return [r for r in tr if r.has_beats] + nst


def with_feature_head(ctx, model, fold, tag):
    """The model with its feature head trained on head_records (train.sh --feature-head); unchanged without."""
    if not ctx.args.feature_head:
        return model
    t = time.time()
    out = FH.attach_feature_head(model, head_records(ctx, fold), run_seed(ctx.args.seed, "head", fold),
                                 ctx.args.feature_weight, ctx.args.feature_hidden, ctx.log)
    ctx.log(f"[{tag}] feature head trained in {time.time() - t:.0f}s")
    return out


def with_heads(ctx, model, fold, tag):
    """What is fitted apart from the network: the feature head."""
    return with_feature_head(ctx, model, fold, tag)


def new_model(ctx):
    return EcgNat(ctx.model_cfg)


def stage_pretrain(ctx):
    ck = os.path.join(ctx.work, "ckpt", "pretrained.pt")
    if os.path.exists(ck) and ctx.have("pretrain.json"):
        ctx.log("[pretrain] cached")
        return
    t = time.time()
    cfg = ctx.cfg
    seed = run_seed(ctx.args.seed, "pretrain")
    seed_all(seed)
    pool = [r for r in ctx.recs if r.spec.group in PRETRAIN_GROUPS]
    smp = D.Sampler(pool, np.random.default_rng(seed), balance=False, noise=ctx.bank_train, aug=True,
                    p_noise_class=0.0, p_mild=0.2, group_w=PRETRAIN_GROUPS)
    # fixed probe batch (from the same pool; labels unused) for a smooth reconstruction curve
    prng = np.random.default_rng(seed + 7)
    pb = D.Sampler(pool, prng, balance=False, aug=False, group_w=PRETRAIN_GROUPS).batch(cfg["probe_n"], 0)
    pmask = T.make_mask(prng, pb.m, cfg["mask_ratio"])
    probe = (torch.from_numpy(pb.x), torch.from_numpy(pb.m), torch.from_numpy(pmask))
    model = new_model(ctx)
    ctx.log(f"[pretrain] {len(pool)} records, {smp.n_windows()} candidate windows, {cfg['pretrain_steps']} steps")
    curve = T.pretrain(model, smp, cfg["pretrain_steps"], cfg["pretrain_bs"], cfg["pretrain_lr"], cfg["mask_ratio"],
                       seed, ctx.log, probe, cfg["eval_every"])
    torch.save(model.state_dict(), ck)
    ctx.save("pretrain.json", {"curve": curve, "steps": cfg["pretrain_steps"], "batch": cfg["pretrain_bs"],
                               "lr": cfg["pretrain_lr"], "mask_ratio": cfg["mask_ratio"], "patch_samples": T.PATCH,
                               "n_records": len(pool), "wall_s": time.time() - t,
                               "groups": {g: sum(r.spec.group == g for r in pool) for g in PRETRAIN_GROUPS}})
    ctx.stage_done("pretrain", t)


def _weights(smp, n=30):
    bc, rc = np.zeros(5), np.zeros(len(D.RHYTHM_CLASSES))
    for _ in range(n):
        b = smp.batch(32)
        bc += np.bincount(b.bc, minlength=5)
        rc += np.bincount(b.rh[b.rh >= 0], minlength=len(D.RHYTHM_CLASSES))
    # restore the sampler RNG stream position independence: weights only depend on the seed
    return T.class_weights(bc), T.class_weights(rc)


def finetune_run(ctx, fold, frac, init, tag):
    """Fine-tune one model; returns (model, info)."""
    cfg = ctx.cfg
    seed = run_seed(ctx.args.seed, "ft", fold, frac, init)
    seed_all(seed)
    tr, _ = pools(ctx, fold)
    rng = np.random.default_rng(seed)
    smp = D.Sampler(tr, rng, balance=True, label_frac=frac, noise=ctx.bank_train, aug=True,
                    group_w=ctx.finetune_groups, beat_jitter=ctx.args.beat_jitter)
    bw, rw = _weights(D.Sampler(tr, np.random.default_rng(seed + 1), balance=True, label_frac=frac,
                                noise=ctx.bank_train, aug=True, group_w=ctx.finetune_groups))
    model = new_model(ctx)
    if init == "pretrained":
        sd = torch.load(os.path.join(ctx.work, "ckpt", "pretrained.pt"))
        own = model.state_dict()
        # the heads are not pretrained (MAE trains the backbone and its decoder); keep matching tensors only
        sd = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(sd, strict=False)
    steps = max(2, int(round(cfg["ft_steps"] * cfg["frac_steps"][frac])))
    ctx.log(f"[{tag}] train records {len(tr)}, labelled windows {smp.n_windows()}, steps {steps}, "
            f"beat w {np.round(bw, 2).tolist()}, rhythm w {np.round(rw, 2).tolist()}")
    t = time.time()
    T.finetune(model, smp, steps, cfg["ft_bs"], cfg["ft_lr"], bw, rw, seed, ctx.log, tag, cfg["lam_supcon"])
    return model, {"steps": steps, "labelled_windows": smp.n_windows(), "beat_weights": bw, "rhythm_weights": rw,
                   "train_records": len(tr), "wall_s": time.time() - t}


def _real_windows(recs, n, rng, mitdb_share=0.6):
    """n real windows (grid positions) drawn from records, MIT-BIH-heavy; returns x, m, ids."""
    mit = [(r, int(s)) for r in recs if r.spec.dataset == "mitdb" for s in r.grid_starts()]
    oth = [(r, int(s)) for r in recs if r.spec.dataset != "mitdb" and r.spec.group != "noise" for s in r.grid_starts()]
    k = min(len(mit), int(n * mitdb_share)) if oth else min(len(mit), n)
    pick = [mit[i] for i in rng.choice(len(mit), size=k, replace=False)] if k else []
    if oth:
        pick += [oth[i] for i in rng.choice(len(oth), size=min(len(oth), n - k), replace=False)]
    xs, ms = zip(*(r.window(s) for r, s in pick))
    rr = np.stack([r.rr_window(s) for r, s in pick])
    ids = [f"{r.spec.dataset}/{r.spec.record}@{s}" for r, s in pick]
    return np.stack(xs), np.stack(ms), rr, ids, pick


def export_model(ctx, model, outdir, calib_recs, tag):
    """fp32 + int8 ONNX for a model; returns paths and quantisation info."""
    os.makedirs(outdir, exist_ok=True)
    fp = os.path.join(outdir, "ecg-nat-fp32.onnx")
    q8 = os.path.join(outdir, "ecg-nat-int8.onnx")
    X.export_fp32(model, fp)
    rng = np.random.default_rng(run_seed(ctx.args.seed, "calib", tag))
    cx, cm, crr, _, _ = _real_windows(calib_recs, ctx.cfg["calib_n"], rng)
    ranges = X.calibrate(fp, cx, cm, crr)
    qi = X.quantize_qdq(fp, q8, ranges)
    qi["calibration_windows"] = len(cx)
    return fp, q8, qi


def stage_final(ctx):
    out = ctx.args.out
    ck = os.path.join(ctx.work, "ckpt", "final.pt")
    if not os.path.exists(ck):
        t = time.time()
        model, info = finetune_run(ctx, None, 1.0, "pretrained", "final")
        model = with_heads(ctx, model, None, "final")
        torch.save(model.state_dict(), ck)
        ctx.save("final_train.json", info)
        ctx.stage_done("finetune_final", t)
    if ctx.have("export.json"):
        ctx.log("[export] cached")
        return
    model = new_model(ctx)
    model.load_state_dict(torch.load(ck))
    export_final(ctx, model.eval())


def stage_reexport(ctx):
    """A new export of the shipped model without retraining (e.g. after a change of the export graph): the weights
    are recovered exactly from the fp32 ONNX in --out (from_onnx.load_model), then exported, calibrated on the same
    real windows (same seed), validated and written with reference vectors and manifest as stage_final does.
    The CV results and the model card are not touched."""
    src = os.path.join(ctx.args.out, "ecg-nat-fp32.onnx")
    files = [src, os.path.join(ctx.args.out, "ecg-nat-int8.onnx")]
    before = [X.sha256(f) for f in files]
    t = time.time()
    model = from_onnx.load_model(src)
    ctx.log(f"[reexport] weights recovered from {src}")
    ctx.stage_done("reexport_load", t)
    export_final(ctx, model)
    same = [X.sha256(f) == b for f, b in zip(files, before)]
    ctx.log(f"[reexport] fp32 file {'byte-identical' if same[0] else 'changed'}, int8 file "
            f"{'byte-identical' if same[1] else 'changed'} (identical when the export code did not change)")
    if ctx.args.smoke and not all(same):
        # the smoke run re-exports the model it has just exported: weight recovery and export must round-trip
        raise SystemExit("[reexport] the re-export of an unchanged model differs from the original export")


def stage_head(ctx):
    """train.sh --feature-head --stages build,head: a feature head on the network already in --out, without
    retraining it. The network's weights are recovered exactly from the fp32 ONNX there (from_onnx.load_model; a head
    it may carry is replaced), the head is trained on every labelled record with beats plus the NST records
    (head_records), and the fused model is exported, calibrated, validated and written with reference vectors and
    manifest as stage_final does. The CV results and the model card are not touched (stage_headcv gives the CV)."""
    if not ctx.args.feature_head:
        raise SystemExit("stage head needs --feature-head")
    src = os.path.join(ctx.args.out, "ecg-nat-fp32.onnx")
    t = time.time()
    net = from_onnx.load_model(src)
    ctx.log(f"[head] network recovered from {src} (sha256 {X.sha256(src)[:12]})")
    model = with_heads(ctx, net, None, "head")
    ctx.stage_done("head", t)
    export_final(ctx, model)


def stage_headcv(ctx, src_work):
    """train.sh --feature-head --stages build,headcv:DIR: the 100 % pretrained CV of a feature head on the fold
    networks another CV run left in DIR/cv_onnx/fold<k>/ (recovered exactly from their fp32 ONNX): per fold, the head
    is trained on that fold's head_records and the fused model evaluated and exported as stage_cv does, into this
    run's results/ and cv_onnx/ (so cv_summary.py, compare_cs.py and the card read it like any CV run)."""
    if not ctx.args.feature_head:
        raise SystemExit("stage headcv needs --feature-head")
    for fold in ctx.cfg["folds"]:
        name = "cv_pretrained_1_fold%d.json" % fold
        if ctx.have(name):
            continue
        t = time.time()
        tag = f"headcv fold {fold}"
        with open(os.path.join(src_work, "results", name)) as f:
            prev = json.load(f)
        fp = os.path.join(src_work, "cv_onnx", f"fold{fold}", "ecg-nat-fp32.onnx")
        model = with_heads(ctx, from_onnx.load_model(fp), fold, tag)
        info = {k: prev[k] for k in ("steps", "labelled_windows", "beat_weights", "rhythm_weights", "train_records",
                                     "wall_s") if k in prev}
        info["network_from"] = {"path": os.path.relpath(fp, ctx.work), "sha256": X.sha256(fp)}
        cv_evaluate(ctx, model, info, fold, 1.0, "pretrained", tag, name, t)


def export_final(ctx, model):
    """Export, int8, validation, reference vectors and manifest of the final model (stage_final, stage_reexport)."""
    t = time.time()
    out = ctx.args.out
    lab, _ = pools(ctx, None)
    fp, q8, qi = export_model(ctx, model, out, lab, "final")
    ctx.log(f"[export] wrote {fp} and {q8}")
    # validation 1: fp32 ONNX (numpy executor) vs PyTorch, and int8 vs fp32 agreement on real windows (not calibration)
    rng = np.random.default_rng(run_seed(ctx.args.seed, "agree"))
    vx, vm, vrr, vids, vpick = _real_windows(lab, ctx.cfg["agree_n"], rng)
    tb, tr = E.torch_predict(model)(vx, vm, vrr)
    ob, orr = X.run_onnx(fp, vx, vm, vrr)
    qb, qr = X.run_onnx(q8, vx, vm, vrr)
    T1 = model.cfg.tokens()[0]
    # beats at annotated positions inside the windows
    bi, bt = [], []
    for i, (r, s) in enumerate(vpick):
        pos, _ = r.beats_in(s, 0)
        bi += [i] * len(pos)
        bt += list(np.minimum(pos // model.cfg.stem_stride, T1 - 1))
    bi, bt = np.array(bi, int), np.array(bt, int)
    val = {
        "n_windows": len(vx), "n_beats": int(len(bi)),
        "fp32_onnx_vs_torch_max_abs_beat": float(np.abs(ob - tb).max()),
        "fp32_onnx_vs_torch_max_abs_rhythm": float(np.abs(orr - tr).max()),
        "int8_vs_fp32_beat_argmax_agreement_at_beats": 100.0 * float(np.mean(qb[bi, bt].argmax(-1) == tb[bi, bt].argmax(-1))) if len(bi) else None,
        "int8_vs_fp32_token_argmax_agreement_all_tokens": 100.0 * float(np.mean(qb.argmax(-1) == tb.argmax(-1))),
        "int8_vs_fp32_window_argmax_agreement": 100.0 * float(np.mean(qr.argmax(-1) == tr.argmax(-1))),
        "int8_vs_fp32_max_abs_beat_logit": float(np.abs(qb - tb).max()),
    }
    ctx.log(f"[validate] {json.dumps(val)}")
    write_refs(ctx, model, vx, vm, vrr, vids, vpick, q8)
    info = {"fp32": {"path": os.path.basename(fp), "sha256": X.sha256(fp), "bytes": os.path.getsize(fp)},
            "int8": {"path": os.path.basename(q8), "sha256": X.sha256(q8), "bytes": os.path.getsize(q8), **qi},
            "validation": val, "macs_per_window": count_macs(model), "params": count_params(model),
            "model_config": model.cfg.to_dict(), "tokens": model.cfg.tokens()}
    ctx.save("export.json", info)
    write_manifest(ctx, info)
    ctx.stage_done("export_validate", t)


def write_refs(ctx, model, vx, vm, vrr, vids, vpick, q8):
    """Reference vectors: a fixed set of real windows — the most beat-class-diverse ones plus a quarter with all
    8 leads present (12-lead datasets) so the C# test also covers multi-lead input."""
    ref_n = ctx.cfg["n_ref"]
    div = lambda i: -len(set(vpick[i][0].beats_in(vpick[i][1], 0)[1].tolist()))
    multi = sorted([i for i in range(len(vpick)) if vm[i].sum() >= 8], key=lambda i: vids[i])[: ref_n // 4]
    rest = sorted([i for i in range(len(vpick)) if i not in multi], key=lambda i: (div(i), vids[i]))
    sel = sorted(multi + rest[: ref_n - len(multi)])
    rx, rm, rrr = vx[sel], vm[sel], vrr[sel]
    fp32_out, int8_out = E.torch_predict(model)(rx, rm, rrr), X.run_onnx(q8, rx, rm, rrr)
    # the quantisation error of these windows (int8 graph vs PyTorch fp32): the bound for an int8 runtime whose
    # integer kernels round differently from the numpy simulation (ModelSelfCheck, OnnxReferenceTests)
    quant_err = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(int8_out, fp32_out))
    X.write_reference(os.path.join(ctx.args.out, "reference"), rx, rm, rrr, [vids[i] for i in sel], fp32_out, int8_out,
                      {"tolerance_fp32_abs": 1e-3, "tolerance_int8_abs": 5e-2, "int8_min_argmax_agreement": 0.99,
                       "tolerance_int8_runtime_abs": float(np.float32(quant_err)),
                       "tolerance_int8_runtime_note": "max |int8 - fp32| over these windows' logits (the quantisation "
                                                      "error): an int8 runtime must stay within it of the simulated "
                                                      "int8 outputs",
                       "input_names": X.IN_NAMES, "output_names": X.OUT_NAMES})


def stage_reference(ctx):
    """Rewrite models/reference/ for the existing final model and ONNX files (same deterministic windows)."""
    model = new_model(ctx)
    model.load_state_dict(torch.load(os.path.join(ctx.work, "ckpt", "final.pt")))
    model.eval()
    lab, _ = pools(ctx, None)
    rng = np.random.default_rng(run_seed(ctx.args.seed, "agree"))
    vx, vm, vrr, vids, vpick = _real_windows(lab, ctx.cfg["agree_n"], rng)
    write_refs(ctx, model, vx, vm, vrr, vids, vpick, os.path.join(ctx.args.out, "ecg-nat-int8.onnx"))


def shape_manifest():
    """rr_features.shape: how the three shape channels after the RR ones are computed (data.morph_features)."""
    return {"lead": "II", "fallback": "first present lead", "before_samples": D.MORPH_BEFORE,
            "after_samples": D.MORPH_AFTER, "history_beats": D.MORPH_HISTORY, "min_history": D.MORPH_MIN_HISTORY,
            "max_shift": D.MORPH_SHIFT, "clip": [list(c) for c in D.MORPH_CLIP],
            "definition": "snippet = lead samples [p - before, p + after) at the beat's model-rate index p, minus its "
                          "median; template = per-sample median of the snippets of the previous history_beats beats "
                          "whose snippets were complete (fewer than min_history: features 0); the beat's snippet is "
                          "taken at the shift in [-max_shift, max_shift] with the highest correlation to the template "
                          "(first on ties); features [1 - correlation, |snippet - template|_2 / (|template|_2 + 1e-3), "
                          "ln((ptp(snippet) + 1e-3) / (ptp(template) + 1e-3))], each clipped"}


def feature_head_manifest(mc: dict) -> dict:
    """beat_feature_head: what the beat_logits of a model with a feature head are (model.EcgNat.fuse_features)."""
    return {"hidden": mc["feature_head"], "weight": mc["feature_weight"], "inputs": "beat_rr channels 1..6",
            "classes": D.BEAT_CLASSES[:4],
            "beats_per_window": HEAD_BEATS,
            "definition": "beat_logits are fused scores at each beat token (beat_rr channel 0 = 1; the first "
                          "beats_per_window of a window): (1 - weight) * log_softmax(network logits) + weight * "
                          "log_softmax(MLP(beat_rr[1..6])) for N, S, V, F; for Q the MLP term is its largest "
                          "log-probability. argmax = class; softmax of the scores = fused probabilities. Other tokens: "
                          "(1 - weight) * log_softmax(network logits)"}


def write_manifest(ctx, info):
    cfg = ctx.model_cfg
    (lo, hi), (mlo, mhi) = D.RR_CLIP, D.RR_MED_CLIP
    man = {
        "name": "ecg-nat", "version": f"{__version__}+{ctx.cfg['name']}-seed{ctx.args.seed}",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "opset": X.OPSET,
        "inputs": [{"name": "ecg", "shape": ["batch", 8, cfg.win], "dtype": "float32", "units": "mV"},
                   {"name": "lead_mask", "shape": ["batch", 8], "dtype": "float32", "values": "1 present, 0 absent"},
                   {"name": "beat_rr", "shape": ["batch", cfg.tokens()[0], D.RR_DIM], "dtype": "float32",
                    "values": f"per fine token: [1, clip(pre/med-1, {lo:g}, {hi:g}), clip(post/med-1, {lo:g}, {hi:g}), "
                              f"clip(med-{D.RR_MED_CENTRE:g} s, {mlo:g}, {mhi:g})"
                              + ("" if D.RR_DIM == D.RR_DIM_BASE else ", 3 shape features (rr_features.shape)")
                              + "] at the token of each detected beat in the window, zeros elsewhere"}],
        "outputs": [{"name": "beat_logits", "shape": ["batch", cfg.tokens()[0], len(D.BEAT_CLASSES)],
                     "classes": D.BEAT_CLASSES},
                    {"name": "rhythm_logits", "shape": ["batch", len(D.RHYTHM_CLASSES)], "classes": D.RHYTHM_CLASSES}],
        "beat_classes": D.BEAT_CLASSES, "rhythm_classes": D.RHYTHM_CLASSES,
        "sample_rate_hz": S.FS_MODEL, "conditioning_rate_hz": S.FS_COND, "decimation": S.DECIM,
        "window_samples": D.WIN, "hop_samples": D.HOP, "window_s": D.WIN / S.FS_MODEL, "hop_s": D.HOP / S.FS_MODEL,
        "channel_order": D.LEADS,
        "lead_mapping_notes": "MIT-BIH MLII->II, V1/V2/V4/V5->own channel; absent leads are 0 with lead_mask 0",
        "normalisation": "none inside or outside the graph: input is the conditioned signal in millivolts "
                         "(microvolts/1000); absent leads are zero",
        "signal_chain": {"resample": "scipy.signal.resample_poly(x, up, down), default Kaiser window, up/down = reduced 500/fs",
                         "filter": "sosfilt, zi = sosfilt_zi(sos) * x[0]; sos = [butter(2,0.5,hp), tf2sos(iirnotch(mains,30)), butter(4,40,lp)] at 500 Hz",
                         "mains_hz": {"mitdb": 60, "nstdb": 60, "cinc2021 E* (Georgia, US)": 60, "other": 50},
                         "mains_note": "per-dataset training parameter; the device uses its local mains frequency", "decimate": "x[::2]"},
        "token_stride": cfg.stem_stride, "fine_tokens": cfg.tokens()[0],
        "beat_query": "token = min(floor(r_peak_index_in_window_at_250Hz / token_stride), fine_tokens - 1)",
        "beat_assignment": "each beat is classified in the window whose centre is nearest (most central); with hop 5 s "
                           "this is the window where it lies in the central 5 s (first/last windows of a record also "
                           "own the edges)",
        "rr_features": {"history_intervals": D.RR_HISTORY, "clip": list(D.RR_CLIP), "median_clip": list(D.RR_MED_CLIP),
                        "median_centre_s": D.RR_MED_CENTRE,
                        "definition": "pre = t_i - t_{i-1}, post = t_{i+1} - t_i in seconds; med = median of the last "
                                      "history_intervals RR intervals ending at or before beat i; first beat of a "
                                      "stream: pre = med = post (0.8 s if alone); next beat not yet known: post = pre",
                        **({"shape": shape_manifest()} if D.RR_DIM > D.RR_DIM_BASE else {})},
        "decision": "argmax of logits (softmax for confidence)",
        **({"beat_feature_head": feature_head_manifest(info["model_config"])}
           if info["model_config"].get("feature_head") else {}),
        "thresholds": {"rhythm_noise_suppresses_alarms": True, "min_prob_alarm": 0.5, "beat_min_prob": 0.0},
        "files": {"fp32": info["fp32"], "int8": {k: info["int8"][k] for k in ("path", "sha256", "bytes")}},
        "quantization": {"scheme": "QDQ S8S8", "weights": f"int{info['int8']['weight_bits']} symmetric per-channel",
                         "activations": "int8 asymmetric per-tensor, min/max on real windows",
                         "calibration_windows": info["int8"]["calibration_windows"],
                         "biases": "int32 per output channel at activation scale x weight scale (every int8 Gemm, "
                                   "run by ONNX Runtime as QGemm)",
                         "fp32_layers": ", ".join(info["int8"].get("fp32_layers", [])) + " (weights, activations "
                                        "and biases fp32: the stem's input is the raw signal; the others have one "
                                        "row per window or 4 input features, where int8 costs more than it saves, "
                                        "or form the small per-beat feature head)"},
        "macs_per_window": info["macs_per_window"], "params": info["params"],
        "training_data": ["MIT-BIH Arrhythmia DS1 + paced (ODC-By 1.0)", "MIT-BIH NSTDB bw/ma/118e* (ODC-By 1.0)",
                          "CPSC 2021 sample (CC BY 4.0)", "PTB-XL 1.0.3 ecg_id 1-500 (CC BY 4.0)",
                          "PhysioNet/CinC 2021 sample (CC BY 4.0)", "LUDB 1.0.1 (ODC-By 1.0)"],
        "reference_vectors": "reference/reference.json",
        "model_card": "MODEL_CARD.md",
    }
    path = os.path.join(ctx.args.out, "ecg-nat.manifest.json")
    with open(path, "w") as f:
        json.dump(man, f, indent=2)
    # the device runs only a manifest signed by a key it trusts (docs/model-signing.md)
    signing.finish(path, ctx.args.sign_key, ctx.args.sign_password_env, log=ctx.log)


def cv_runs(ctx):
    cfg = ctx.cfg
    order = [(1.0, "pretrained")]
    for fr in cfg["fracs"]:
        if fr < 1.0:
            order += [(fr, "pretrained"), (fr, "scratch")]
    order += [(1.0, "scratch")]
    return order


def stage_cv(ctx, which):
    cfg = ctx.cfg
    for frac, init in which:
        for fold in cfg["folds"]:
            name = f"cv_{init}_{frac:g}_fold{fold}.json"
            if ctx.have(name):
                continue
            t = time.time()
            tag = f"cv {init} {frac:g} fold {fold}"
            model, info = finetune_run(ctx, fold, frac, init, tag)
            model = with_heads(ctx, model, fold, tag)
            cv_evaluate(ctx, model, info, fold, frac, init, tag, name, t)


def cv_evaluate(ctx, model, info, fold, frac, init, tag, name, t):
    """Evaluate a fold's model on its held-out records (and, at 100 % pretrained, its int8 export), save the results
    as name and update the model card (stage_cv, stage_headcv)."""
    cfg = ctx.cfg
    _, te = pools(ctx, fold)
    t1 = time.time()
    met, res, nr = E.evaluate(te, E.torch_predict(model), ctx.bank_eval, cfg["n_noise_eval"],
                              run_seed(ctx.args.seed, "noise", fold))
    info.update(metrics=met, per_record=E.per_record(res), eval_wall_s=time.time() - t1, test_records=[r.spec.record for r in te if r.spec.dataset == "mitdb"],
                fold=fold, frac=frac, init=init)
    if cfg["int8_cv"] and frac == 1.0 and init == "pretrained":
        tr, _ = pools(ctx, fold)
        d = os.path.join(ctx.work, "cv_onnx", f"fold{fold}")
        fp, q8, qi = export_model(ctx, model, d, tr, f"fold{fold}")
        t2 = time.time()
        met8, res8, nr8 = E.evaluate(te, X.onnx_predict(q8), ctx.bank_eval, cfg["n_noise_eval"],
                                     run_seed(ctx.args.seed, "noise", fold))
        agree_b = np.concatenate([a["beat_pred"] == b["beat_pred"] for a, b in zip(res, res8) if "beat_pred" in a])
        agree_w = np.concatenate([a["rhy_pred"] == b["rhy_pred"] for a, b in zip(res, res8)])
        info.update(metrics_int8=met8, per_record_int8=E.per_record(res8), int8_beat_agreement=100.0 * float(agree_b.mean()),
                    int8_window_agreement=100.0 * float(agree_w.mean()), int8_eval_wall_s=time.time() - t2)
    ctx.save(name, info)
    m = info["metrics"]
    ctx.log(f"[{tag}] VEB Se {m.get('VEB_se', float('nan')):.1f} +P {m.get('VEB_pp', float('nan')):.1f} | "
            f"SVEB Se {m.get('SVEB_se', float('nan')):.1f} +P {m.get('SVEB_pp', float('nan')):.1f} | "
            f"acc {m.get('accuracy', float('nan')):.1f}")
    ctx.stage_done(f"cv_{init}_{frac:g}", t)
    from . import card
    card.write_card(ctx)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default=None)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--beat-jitter", type=int, default=D.BEAT_JITTER,
                    help=f"uniform jitter of training beat positions, samples at 250 Hz (default {D.BEAT_JITTER})")
    ap.add_argument("--feature-head", action=argparse.BooleanOptionalAction, default=True,
                    help="on by default (the shipped recipe since 0.2.0): beat_rr gets the "
                         "three shape channels but the network reads only the RR ones; a small MLP on each beat's 3 RR "
                         "+ 3 shape numbers, trained apart on the same records, is fused with the network's beat "
                         "logits in the graph (feature_head.py). --no-feature-head: the 0.1.x recipe")
    ap.add_argument("--feature-hidden", type=int, default=FH.HIDDEN, help=f"feature head width (default {FH.HIDDEN})")
    ap.add_argument("--feature-weight", type=float, default=FH.WEIGHT,
                    help=f"weight a of the feature head in the fused beat scores (default {FH.WEIGHT}, chosen by "
                         "record-wise CV: docs/experiments/feature-head.md)")
    ap.add_argument("--qtdb-beats", action="store_true",
                    help="an experiment, not the shipped recipe: QTDB's beat-annotated records join fine-tuning and the "
                         "feature head (data.qtdb_specs: same-patient excerpts in their MIT-BIH record's fold, the others "
                         "hashed), fed to the model's channels as the device replays them (data.device_lead_map); "
                         "pre-training is unchanged")
    ap.add_argument("--stages", default=None,
                    help="default build,pretrain,final,cv100,card,cvlow,card (with --smoke also reexport, which must "
                         "reproduce the exported files byte for byte)")
    signing.add_arguments(ap)
    args = ap.parse_args(argv)
    signing.check_arguments(ap, args)
    if args.feature_head and not 0.0 < args.feature_weight <= 1.0:
        ap.error(f"--feature-weight must be in (0, 1], got {args.feature_weight}")
    args.stages = args.stages or ("build,pretrain,final,cv100,card,cvlow,card" + (",reexport" if args.smoke else ""))
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))       # tools/train
    repo = os.path.dirname(os.path.dirname(here))
    args.data = args.data or os.path.join(os.path.dirname(repo), "shared", "data")
    args.out = os.path.abspath(args.out or os.path.join(repo, "models"))
    args.cache = args.cache or os.path.join(here, "cache")
    args.work = args.work or os.path.join(here, "runs", "smoke" if args.smoke else "full")
    cfg = SMOKE if args.smoke else FULL
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    ctx = Ctx(args, cfg)
    ctx.finetune_groups = finetune_groups(args.qtdb_beats)
    D.set_beat_features(args.feature_head)
    ctx.model_cfg = ModelConfig(rr_dim=D.RR_DIM, feature_head=args.feature_hidden if args.feature_head else 0,
                                feature_weight=args.feature_weight if args.feature_head else 0.0)
    ctx.log(f"[pipeline] {cfg['name']} seed {args.seed} data {args.data} out {args.out} work {args.work} "
            f"python {platform.python_version()} torch {torch.__version__}")
    m = EcgNat(ctx.model_cfg)
    ctx.log(f"[recipe] beat jitter ±{args.beat_jitter} samples, feature head "
            f"{f'{args.feature_hidden} wide, weight {args.feature_weight:g}' if args.feature_head else 'none'}"
            f"{', QTDB beats in fine-tuning' if args.qtdb_beats else ''}")
    ctx.log(f"[model] params {count_params(m)} MACs/window {count_macs(m)} tokens {m.cfg.tokens()}")
    from . import card
    for st in args.stages.split(","):
        if st == "build":
            stage_build(ctx)
        elif st == "pretrain":
            stage_pretrain(ctx)
        elif st == "final":
            stage_final(ctx)
        elif st == "reexport":
            stage_reexport(ctx)
        elif st == "head":
            stage_head(ctx)
        elif st.startswith("headcv:"):
            stage_headcv(ctx, os.path.abspath(st.split(":", 1)[1]))
        elif st == "manifest":
            write_manifest(ctx, ctx.load("export.json"))
        elif st == "reference":
            stage_reference(ctx)
        elif st == "cv100":
            stage_cv(ctx, cv_runs(ctx)[:1])
        elif st == "cvlow":
            stage_cv(ctx, cv_runs(ctx)[1:])
        elif st.startswith("cv:"):
            # one CV configuration, e.g. cv:0.1:scratch (to split the CV runs over several processes / work dirs)
            _, frac, init = st.split(":")
            stage_cv(ctx, [(float(frac), init)])
        elif st == "card":
            t = time.time()
            card.write_card(ctx)
            ctx.stage_done("card", t)
            ctx.log(f"[card] wrote {os.path.join(args.out, 'MODEL_CARD.md')}")
        else:
            raise SystemExit(f"unknown stage {st}")
    ctx.log(f"[pipeline] done in {time.time() - ctx.t0:.0f}s; peak RSS {ctx.state.get('peak_rss_mb', 0):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
