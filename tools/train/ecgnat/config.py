"""Run configurations of the training pipeline: the full recipe and the smoke subset (train.sh --smoke), and the
sampling weights of the data sources in pre-training and fine-tuning. A module of its own so that the pipeline
(ecgnat.pipeline) and the model card (ecgnat.card) both read it without importing each other."""
from __future__ import annotations

FULL = dict(
    name="full", pretrain_steps=5000, pretrain_bs=32, pretrain_lr=1e-3, mask_ratio=0.7, probe_n=128, eval_every=250,
    ft_steps=1000, ft_bs=32, ft_lr=7e-4, lam_supcon=0.5, fracs=[1.0, 0.01, 0.1], frac_steps={1.0: 1.0, 0.1: 0.5, 0.01: 0.25},
    folds=list(range(5)), n_noise_eval=100, calib_n=256, agree_n=512, n_ref=16, max_len=None, int8_cv=True,
)
SMOKE = dict(
    name="smoke", pretrain_steps=12, pretrain_bs=8, pretrain_lr=1e-3, mask_ratio=0.7, probe_n=8, eval_every=4,
    ft_steps=8, ft_bs=8, ft_lr=7e-4, lam_supcon=0.5, fracs=[1.0, 0.01, 0.1], frac_steps={1.0: 1.0, 0.1: 0.5, 0.01: 0.5},
    folds=[0, 1], n_noise_eval=8, calib_n=16, agree_n=16, n_ref=4, max_len=250 * 90, int8_cv=True,
    subset=dict(ds1=[[101, 106, 201], [119, 208, 209]], paced=[102], nst=[], noise=["bw", "ma"], cpsc=4, ptbxl=16,
                cinc=6, ludb=8),
)
PRETRAIN_GROUPS = {"ds1": 0.35, "paced": 0.07, "nst": 0.08, "cpsc": 0.15, "ptbxl": 0.15, "ludb": 0.1, "cinc": 0.1}
FINETUNE_GROUPS = {"ds1": 0.72, "paced": 0.06, "cpsc": 0.1, "ptbxl": 0.06, "ludb": 0.03, "cinc": 0.03}
# train.sh --qtdb-beats (an experiment, not the shipped recipe): QTDB's 73 beat-annotated records join fine-tuning with
# this share of the sampled windows (the others keep their ratios). 0.15: QTDB holds ~18 h of labelled beats against
# DS1's ~11 h but far fewer S and V beats; it was set once, not tuned.
QTDB_FINETUNE_WEIGHT = 0.15


def finetune_groups(qtdb_beats: bool) -> dict:
    """The fine-tuning sources and their sampling weights (the sampler normalises them)."""
    return {**FINETUNE_GROUPS, "qtdb": QTDB_FINETUNE_WEIGHT} if qtdb_beats else FINETUNE_GROUPS
