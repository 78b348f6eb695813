#!/usr/bin/python3
"""Re-exports of the shipped weights in three further forms, for timing against the shipped int8 file (session 12,
docs/performance.md). Each runs the `reexport` stage of the training pipeline (same weights, calibration windows and
seed) with one export function patched, so the int8 pass, the validation and the reference vectors are the shipped
ones. Copy models/ to a scratch directory first: the stage writes its files there.

  int8-stem         the stem convolution quantized too (export.FP32_LAYERS without "stem")
  dense:N           attention groups of at most N tokens done as one dense block (export_attention.pick_block returns
                    None for them): N=78 makes stage 3's undilated layer dense, N=156 stage 2's as well
  beat-slots:K      the fusion and the beat head computed only at the K tokens with the highest beat flag (TopK on
                    beat_rr channel 0: the beats first) instead of at all 312 fine tokens, scattered back into a
                    [B, 312, 5] output that is 0 at every token without a beat. Identical at beat tokens for windows of
                    at most 50 beats (the feature head's own limit, model.HEAD_BEATS)

    cp -r models /tmp/rw/beat-slots
    PYTHONPATH=tools/train OMP_NUM_THREADS=1 PYTHONHASHSEED=0 /usr/bin/python3 \\
        tools/bench/experiments/export_rewrites.py beat-slots:72 --work /tmp/rw/work --out /tmp/rw/beat-slots --stages build,reexport
    taskset -c 1 ecgedge bench graph --onnx models/ecg-nat-int8.onnx,/tmp/rw/beat-slots/ecg-nat-int8.onnx --runs 2000 --rounds 8

Result (session 12): none is faster by more than 2 %; none was adopted.
"""
import sys

import torch
import torch.nn.functional as F

import ecgnat.export as X
import ecgnat.export_attention as A
import ecgnat.from_onnx as FO
from ecgnat import pipeline
from ecgnat.model import FEATURE_HEAD_INPUTS


def int8_stem():
    X.FP32_LAYERS = tuple(layer for layer in X.FP32_LAYERS if layer != "stem")


def dense(limit: int):
    """pick_block -> None (one dense block) for groups of at most limit tokens, while exporting; reading the shipped
    fp32 file back (from_onnx) still needs the shipped geometry."""
    pick, rpb = A.pick_block, A.rpb_from_band_bias
    reading = [False]
    A.pick_block = lambda Lg, k: pick(Lg, k) if reading[0] or Lg > limit else None

    def read_rpb(na, table):
        reading[0] = True
        try:
            return rpb(na, table)
        finally:
            reading[0] = False
    A.rpb_from_band_bias = FO.rpb_from_band_bias = read_rpb


def _rows(flat, L: int, D: int, idx):
    """Rows idx [B, K] of each window's [L, D] block of flat [B * L, D] -> [B * K, D] (constant-size reshapes)."""
    cols = (idx.unsqueeze(-1) * D + torch.arange(D)).reshape(-1, idx.shape[1] * D)
    return torch.gather(flat.reshape(-1, L * D), 1, cols).reshape(-1, D)


class BeatSlotExport(A.FlatExport):
    K = 72

    def forward(self, ecg, lead_mask, beat_rr):
        m, cfg, K = self.m, self.m.cfg, self.K
        L1, L2, L3 = cfg.tokens()
        D, R, C = cfg.dims, cfg.rr_dim, cfg.n_beat
        x = ecg * lead_mask.unsqueeze(-1)
        t = (m.stem(x).transpose(1, 2) + m.mask_emb(lead_mask).unsqueeze(1)).reshape(-1, D[0])
        f1 = m.stages[0](m.stem_norm(t))
        f2 = m.stages[1](m.downs[0].red(m.downs[0].norm(f1).reshape(-1, 2 * D[0])))
        f3 = m.stages[2](m.downs[1].red(m.downs[1].norm(f2).reshape(-1, 2 * D[1])))
        flag, idx = torch.topk(beat_rr[..., 0], K, dim=1)                              # B,K: beats first
        g1 = _rows(f1, L1, D[0], idx)
        g2 = _rows(f2, L2, D[1], torch.div(idx, 2, rounding_mode="trunc"))             # nearest upsampling
        g3 = _rows(f3, L3, D[2], torch.div(idx, 4, rounding_mode="trunc"))
        fused = m.fnorm(m.f1(g1) + m.f2(g2) + m.f3(g3))                                 # B*K, F
        rr_all = _rows(beat_rr.reshape(-1, R), L1, R, idx)                              # B*K, R
        rr = m.net_rr(rr_all)
        bh = F.gelu(m.beat_fc(fused) + m.rr_fc2(F.gelu(m.rr_fc1(rr))))
        z = m.rnorm(f3).reshape(-1, L3, D[2])
        stats = self._rr_stats(beat_rr)
        rh = F.gelu(m.r_fc(torch.cat([z.mean(1), z.amax(1), stats], dim=-1)))
        logits = m.beat_out(bh) + m.rr_out(rr)
        if m.fh_fc1 is not None:                                                        # EcgNat.fuse_features
            a = cfg.feature_weight
            h = m.fh_out(F.gelu(m.fh_fc2(F.gelu(m.fh_fc1(rr_all[:, 1:1 + FEATURE_HEAD_INPUTS])))))
            e = F.log_softmax(h, dim=-1)
            e = torch.cat([e, e.amax(dim=-1, keepdim=True)], dim=-1)
            logits = (1.0 - a) * F.log_softmax(logits, dim=-1) + e * (a * rr_all[:, :1])
        beat = logits.reshape(-1, K, C)
        beat = beat * flag.unsqueeze(-1)                                                # 0 at non-beat tokens
        tok = (idx.unsqueeze(-1) * C + torch.arange(C)).reshape(-1, K * C)
        out = torch.zeros(beat_rr.shape[0], L1 * C).scatter(1, tok, beat.reshape(-1, K * C))
        return out.reshape(-1, L1, C), m.r_out(rh)


def beat_slots(k: int):
    BeatSlotExport.K = k

    def copy_(model, check_input=None, tol=1e-4):
        w = BeatSlotExport(A._with_attention(model, A.FlatBandAttention)).eval()
        if check_input is not None:
            model.eval()
            with torch.no_grad():
                ref, new = model(*check_input), w(*check_input)
            at = check_input[2][..., 0] > 0
            d = max(float((ref[0][at] - new[0][at]).abs().max()), float((ref[1] - new[1]).abs().max()),
                    float(new[0][~at].abs().max()))
            print(f"[beat-slots] |export - gather form| at beat tokens and rhythm, |export| elsewhere: {d:.3g}",
                  file=sys.stderr)
            if not d <= tol:
                raise ValueError(f"beat-slot export differs by {d:.3g}")
        return w
    A.flat_export_copy = X.flat_export_copy = copy_


VARIANTS = {"int8-stem": lambda arg: int8_stem(), "dense": lambda arg: dense(int(arg)),
            "beat-slots": lambda arg: beat_slots(int(arg))}

if __name__ == "__main__":
    name, _, arg = sys.argv[1].partition(":")
    if name not in VARIANTS:
        sys.exit(f"usage: export_rewrites.py {{int8-stem|dense:N|beat-slots:K}} <pipeline arguments>; got {sys.argv[1]!r}")
    VARIANTS[name](arg)
    pipeline.main(sys.argv[2:])
