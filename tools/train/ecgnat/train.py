"""Stage 1 (masked-autoencoder pretraining) and stage 2 (SupCon + CE fine-tuning)."""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from .data import WIN, Sampler
from .model import EcgNat


def lr_at(step, total, base, warm):
    if step < warm:
        return base * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


class Progress:
    def __init__(self, name, total, log, every_s=30.0):
        self.name, self.total, self.log, self.every = name, total, log, every_s
        self.t0 = self.tl = time.time()

    def tick(self, step, msg):
        now = time.time()
        if now - self.tl >= self.every or step + 1 == self.total or step == 0:
            el = now - self.t0
            eta = el / (step + 1) * (self.total - step - 1)
            self.log(f"[{self.name}] {step + 1}/{self.total} {msg} elapsed {el:.0f}s eta {eta:.0f}s")
            self.tl = now


# ---------------------------------------------------------------------------------------------------------------
# MAE
PATCH = 32       # samples (128 ms) per masked patch = 4 fine tokens


def make_mask(rng: np.random.Generator, m: np.ndarray, ratio: float) -> np.ndarray:
    """Per (lead, patch) random masking of present leads: returns [B, 8, WIN] 1 = masked."""
    B = m.shape[0]
    npatch = int(math.ceil(WIN / PATCH))
    pm = (rng.random((B, 8, npatch)) < ratio) & (m[:, :, None] > 0)
    return np.repeat(pm, PATCH, axis=2)[:, :, :WIN].astype(np.float32)


def mae_loss(model: EcgNat, x, m, mask):
    """Masked inputs are zeroed; targets are per-window, per-lead standardised signals; loss on masked samples."""
    mu = x.mean(-1, keepdim=True)
    sd = x.std(-1, keepdim=True) + 0.05
    tgt = (x - mu) / sd
    rec = model.mae(x * (1 - mask), m)
    L = rec.shape[-1]
    w = mask[..., :L]
    return (((rec - tgt[..., :L]) ** 2) * w).sum() / w.sum().clamp(min=1.0)


def pretrain(model: EcgNat, sampler: Sampler, steps: int, bs: int, lr: float, ratio: float, seed: int, log,
             probe: tuple | None = None, eval_every: int = 200):
    rng = np.random.default_rng(seed + 101)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    prog = Progress("pretrain", steps, log)
    curve, run = [], []
    model.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, lr, max(1, steps // 20))
        b = sampler.batch(bs, beat_jitter=0)
        x, m = torch.from_numpy(b.x), torch.from_numpy(b.m)
        mask = torch.from_numpy(make_mask(rng, b.m, ratio))
        loss = mae_loss(model, x, m, mask)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run.append(loss.item())
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            pl = None
            if probe is not None:
                model.eval()
                with torch.no_grad():
                    pl = float(mae_loss(model, *probe).item())
                model.train()
            curve.append({"step": step + 1, "train_loss": float(np.mean(run)), "probe_loss": pl})
            run = []
        prog.tick(step, f"loss {loss.item():.4f}")
    return curve


# ---------------------------------------------------------------------------------------------------------------
# fine-tuning
def supcon(z, y, t=0.1):
    """Supervised contrastive loss (Khosla et al. 2020), anchors without positives are skipped."""
    if z.shape[0] < 2:
        return z.sum() * 0
    z = F.normalize(z, dim=1)
    sim = z @ z.t() / t
    eye = torch.eye(z.shape[0], dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    logp = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (y[:, None] == y[None, :]) & ~eye
    npos = pos.sum(1)
    ok = npos > 0
    if not ok.any():
        return z.sum() * 0
    return -((logp * pos).sum(1)[ok] / npos[ok]).mean()


def finetune(model: EcgNat, sampler: Sampler, steps: int, bs: int, lr: float, beat_w: np.ndarray, rhy_w: np.ndarray,
             seed: int, log, name="finetune", lam_supcon=0.5, stride: int | None = None, max_con=256):
    rng = np.random.default_rng(seed + 202)
    head = [p for n, p in model.named_parameters() if n.startswith(("beat_", "r_", "rnorm", "f1", "f2", "f3", "fnorm",
                                                                      "rhy_proj", "rr_"))]
    hid = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in hid]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": lr * 3}], weight_decay=0.05)
    bw = torch.tensor(beat_w, dtype=torch.float32)
    rw = torch.tensor(rhy_w, dtype=torch.float32)
    prog = Progress(name, steps, log)
    model.train()
    T = model.cfg.tokens()[0]
    stride = model.cfg.stem_stride if stride is None else stride
    hist = []
    for step in range(steps):
        f = lr_at(step, steps, 1.0, max(1, steps // 20))
        opt.param_groups[0]["lr"] = lr * f
        opt.param_groups[1]["lr"] = lr * 3 * f
        b = sampler.batch(bs)
        x, m = torch.from_numpy(b.x), torch.from_numpy(b.m)
        bl, rl, bh, rh = model.forward_train(x, m, torch.from_numpy(b.rr))
        loss = torch.zeros(())
        parts = {}
        if len(b.bb):
            tok = torch.from_numpy(np.minimum(b.bt // stride, T - 1)).long()
            bi = torch.from_numpy(b.bb).long()
            yb = torch.from_numpy(b.bc).long()
            lb = bl[bi, tok]
            ce_b = F.cross_entropy(lb, yb, weight=bw)
            hb = bh[bi, tok]
            if len(yb) > max_con:
                # class-balanced subsample for the contrastive term
                p = (1.0 / np.bincount(b.bc, minlength=5)[b.bc])
                sel = rng.choice(len(yb), size=max_con, replace=False, p=p / p.sum())
                sel = torch.from_numpy(sel).long()
                hb, ybs = hb[sel], yb[sel]
            else:
                ybs = yb
            sc_b = supcon(model.beat_proj(hb), ybs)
            loss = loss + ce_b + lam_supcon * sc_b
            parts["ce_beat"], parts["sc_beat"] = ce_b.item(), sc_b.item()
        yr = torch.from_numpy(b.rh).long()
        ok = yr >= 0
        if ok.any():
            ce_r = F.cross_entropy(rl[ok], yr[ok], weight=rw)
            sc_r = supcon(model.rhy_proj(rh[ok]), yr[ok])
            loss = loss + ce_r + lam_supcon * sc_r
            parts["ce_rhythm"], parts["sc_rhythm"] = ce_r.item(), sc_r.item()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        hist.append(parts)
        prog.tick(step, " ".join(f"{k} {v:.3f}" for k, v in parts.items()))
    return hist


def class_weights(counts: np.ndarray, power=0.5, cap=20.0) -> np.ndarray:
    c = np.maximum(counts.astype(np.float64), 1.0)
    w = (c.sum() / c) ** power
    w = w / w[np.argmax(counts)] if counts.max() > 0 else w
    return np.minimum(w, cap).astype(np.float32)
