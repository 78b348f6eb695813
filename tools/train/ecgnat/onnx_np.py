"""A small numpy executor for the ONNX graphs this pipeline exports (fp32 and QDQ int8).

There is no onnxruntime for Python here, so this is how the exported graphs are run in Python: to check the fp32
export against PyTorch, to collect calibration ranges, and to simulate the int8 QDQ graph exactly as written.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper
from scipy.special import erf


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _axes_attr_or_input(node, ins, at, idx):
    if len(ins) > idx and ins[idx] is not None:
        return [int(a) for a in np.atleast_1d(ins[idx])]
    return at.get("axes")


class Runner:
    def __init__(self, model: onnx.ModelProto | str):
        if isinstance(model, str):
            model = onnx.load(model)
        self.model = model
        self.init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.nodes = list(model.graph.node)
        self.outputs = [o.name for o in model.graph.output]

    def run(self, feeds: dict, capture: set | None = None):
        env = dict(self.init)
        env.update(feeds)
        cap = {k: v for k, v in feeds.items() if capture and k in capture}
        for n in self.nodes:
            ins = [env[i] if i else None for i in n.input]
            outs = self._op(n, ins)
            for name, v in zip(n.output, outs):
                env[name] = v
                if capture and name in capture:
                    cap[name] = v
        res = [env[o] for o in self.outputs]
        return (res, cap) if capture is not None else res

    def _op(self, n, x):
        t, at = n.op_type, _attrs(n)
        if t == "Constant":
            return [numpy_helper.to_array(at["value"]) if "value" in at else np.array(at.get("value_float"))]
        if t == "Identity":
            return [x[0]]
        if t == "Add":
            return [x[0] + x[1]]
        if t == "Sub":
            return [x[0] - x[1]]
        if t == "Mul":
            return [x[0] * x[1]]
        if t == "Div":
            return [x[0] / x[1] if np.issubdtype(np.asarray(x[0]).dtype, np.floating) else x[0] // x[1]]
        if t == "Pow":
            return [np.power(x[0], x[1]).astype(x[0].dtype)]
        if t == "Sqrt":
            return [np.sqrt(x[0])]
        if t == "Erf":
            return [erf(x[0]).astype(x[0].dtype)]
        if t == "Relu":
            return [np.maximum(x[0], 0)]
        if t == "Abs":
            return [np.abs(x[0])]
        if t == "Shape":
            return [np.array(x[0].shape, np.int64)]
        if t == "Cast":
            to = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[at["to"]]
            return [np.asarray(x[0]).astype(to)]
        if t == "Unsqueeze":
            y = x[0]
            axes = _axes_attr_or_input(n, x, at, 1)
            r = np.ndim(y) + len(axes)
            for a in sorted(a % r for a in axes):
                y = np.expand_dims(y, a)
            return [y]
        if t == "Squeeze":
            axes = _axes_attr_or_input(n, x, at, 1)
            return [np.squeeze(x[0], axis=tuple(axes) if axes is not None else None)]
        if t == "Concat":
            return [np.concatenate([np.atleast_1d(v) for v in x], axis=at["axis"])]
        if t == "Reshape":
            shp = [int(s) for s in x[1]]
            shp = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shp)]
            return [x[0].reshape(shp)]
        if t == "Split":
            ax = at.get("axis", 0)
            if len(x) > 1 and x[1] is not None:
                sizes = [int(v) for v in x[1]]
            elif "split" in at:
                sizes = [int(v) for v in at["split"]]
            else:
                sizes = [x[0].shape[ax] // len(n.output)] * len(n.output)
            return list(np.split(x[0], np.cumsum(sizes)[:-1], axis=ax))
        if t == "Transpose":
            return [np.transpose(x[0], at.get("perm"))]
        if t == "Gather":
            return [np.take(x[0], x[1].astype(np.int64), axis=at.get("axis", 0))]
        if t == "Slice":
            st, en = x[1], x[2]
            axes = x[3] if len(x) > 3 and x[3] is not None else np.arange(len(st))
            steps = x[4] if len(x) > 4 and x[4] is not None else np.ones(len(st), np.int64)
            sl = [slice(None)] * x[0].ndim
            for s, e, a, p in zip(st, en, axes, steps):
                sl[int(a)] = slice(int(s), int(e), int(p))
            return [x[0][tuple(sl)]]
        if t == "MatMul":
            return [np.matmul(x[0], x[1])]
        if t == "Gemm":
            a, b = x[0], x[1]
            if at.get("transA", 0):
                a = a.T
            if at.get("transB", 0):
                b = b.T
            y = at.get("alpha", 1.0) * (a @ b)
            if len(x) > 2 and x[2] is not None:
                y = y + at.get("beta", 1.0) * x[2]
            return [y.astype(np.float32)]
        if t == "Conv":
            return [self._conv1d(x[0], x[1], x[2] if len(x) > 2 else None, at)]
        if t == "LayerNormalization":
            ax = at.get("axis", -1)
            eps = at.get("epsilon", 1e-5)
            mu = x[0].mean(axis=ax, keepdims=True)
            var = ((x[0] - mu) ** 2).mean(axis=ax, keepdims=True)
            y = (x[0] - mu) / np.sqrt(var + eps) * x[1]
            if len(x) > 2 and x[2] is not None:
                y = y + x[2]
            return [y.astype(np.float32)]
        if t in ("ReduceSum", "ReduceMean", "ReduceMax"):
            axes = _axes_attr_or_input(n, x, at, 1) if t == "ReduceSum" else at.get("axes")
            kd = bool(at.get("keepdims", 1))
            f = {"ReduceSum": np.sum, "ReduceMean": np.mean, "ReduceMax": np.max}[t]
            ax = tuple(axes) if axes is not None else None
            return [f(x[0], axis=ax, keepdims=kd).astype(x[0].dtype)]
        if t == "Softmax":
            ax = at.get("axis", -1)
            e = np.exp(x[0] - x[0].max(axis=ax, keepdims=True))
            return [(e / e.sum(axis=ax, keepdims=True)).astype(np.float32)]
        if t == "TopK":
            ax, k = at.get("axis", -1), int(np.asarray(x[1]).reshape(-1)[0])
            if not at.get("largest", 1) or not at.get("sorted", 1):
                raise NotImplementedError("TopK: only largest=1, sorted=1")
            # descending, ties to the lower index first (the ONNX rule): a stable sort of the negated values
            order = np.argsort(-x[0], axis=ax, kind="stable")
            idx = np.take(order, np.arange(k), axis=ax)
            return [np.take_along_axis(x[0], idx, axis=ax), idx.astype(np.int64)]
        if t == "GatherElements":
            return [np.take_along_axis(x[0], x[1].astype(np.int64), axis=at.get("axis", 0))]
        if t == "ScatterElements":
            if at.get("reduction", b"none") not in (b"none", "none"):
                raise NotImplementedError("ScatterElements: only reduction none")
            out = x[0].copy()
            np.put_along_axis(out, x[1].astype(np.int64), x[2], axis=at.get("axis", 0))
            return [out]
        if t == "LogSoftmax":
            ax = at.get("axis", -1)
            z = x[0] - x[0].max(axis=ax, keepdims=True)
            return [(z - np.log(np.exp(z).sum(axis=ax, keepdims=True))).astype(np.float32)]
        if t == "Clip":
            lo = x[1] if len(x) > 1 and x[1] is not None else None
            hi = x[2] if len(x) > 2 and x[2] is not None else None
            return [np.clip(x[0], lo, hi).astype(x[0].dtype)]
        if t == "ConstantOfShape":
            v = numpy_helper.to_array(at["value"]) if "value" in at else np.zeros(1, np.float32)
            return [np.full(tuple(int(s) for s in x[0]), v.reshape(-1)[0], dtype=v.dtype)]
        if t == "Equal":
            return [np.equal(x[0], x[1])]
        if t == "GreaterOrEqual":
            return [np.greater_equal(x[0], x[1])]
        if t == "Max":
            return [np.maximum.reduce(x)] if len(x) > 1 else [x[0]]
        if t == "Min":
            return [np.minimum.reduce(x)] if len(x) > 1 else [x[0]]
        if t == "Where":
            return [np.where(x[0], x[1], x[2])]
        if t == "Expand":
            shp = tuple(int(s) for s in x[1])
            out_shape = np.broadcast_shapes(x[0].shape, shp)
            return [np.broadcast_to(x[0], out_shape).copy()]
        if t == "QuantizeLinear":
            ax = at.get("axis", 1)
            s, zp = x[1], x[2] if len(x) > 2 and x[2] is not None else np.zeros((), np.uint8)
            s_, z_ = self._bcast(s, x[0], ax), self._bcast(zp.astype(np.int32), x[0], ax)
            lo, hi = (-128, 127) if zp.dtype == np.int8 else (0, 255)
            q = np.clip(np.rint(x[0] / s_) + z_, lo, hi)
            return [q.astype(zp.dtype)]
        if t == "DequantizeLinear":
            ax = at.get("axis", 1)
            s = x[1]
            zp = x[2] if len(x) > 2 and x[2] is not None else np.zeros_like(s, dtype=x[0].dtype)
            s_, z_ = self._bcast(s, x[0], ax), self._bcast(zp.astype(np.int32), x[0], ax)
            return [((x[0].astype(np.int32) - z_) * s_).astype(np.float32)]
        raise NotImplementedError(f"op {t}")

    @staticmethod
    def _bcast(p, x, axis):
        p = np.asarray(p)
        if p.ndim == 0 or p.size == 1:
            return p.reshape(())
        shp = [1] * x.ndim
        shp[axis % x.ndim] = p.size
        return p.reshape(shp)

    @staticmethod
    def _conv1d(x, w, b, at):
        assert x.ndim == 3 and at.get("group", 1) == 1
        s = at.get("strides", [1])[0]
        d = at.get("dilations", [1])[0]
        p0, p1 = at.get("pads", [0, 0])
        xp = np.pad(x, ((0, 0), (0, 0), (p0, p1)))
        Co, Ci, K = w.shape
        L = (xp.shape[2] - d * (K - 1) - 1) // s + 1
        idx = np.arange(L)[:, None] * s + np.arange(K)[None, :] * d           # L, K
        cols = xp[:, :, idx]                                                    # B, Ci, L, K
        y = np.einsum("bclk,ock->bol", cols, w, optimize=True)
        if b is not None:
            y = y + b[None, :, None]
        return y.astype(np.float32)
