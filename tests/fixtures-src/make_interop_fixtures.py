#!/usr/bin/python3
"""Writes the interop test fixtures with real Python writers (torch.save, numpy.save/savez).

Run once with Debian's python3-torch (1.13) and python3-numpy:
    /usr/bin/python3 tests/fixtures-src/make_interop_fixtures.py
Outputs go to tests/SaeGuard.Tests/Fixtures/interop/ and are committed. Every fixture's
expected values are written to expected.json from numpy's view of the data (not from the
files), so the C# readers are checked against Python's own values.

Debian has no python3-safetensors, so safetensors files are written by write_safetensors()
below, which follows the format spec (8-byte LE header length, JSON header, data).
"""
import collections
import json
import os
import shutil
import struct

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "SaeGuard.Tests", "Fixtures", "interop")
EXPECTED = {}


def out(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def describe(a):
    """dtype name, logical shape and C-order values of an array or tensor."""
    if isinstance(a, torch.Tensor):
        dt = str(a.dtype).replace("torch.", "")
        a = a.to(torch.float64).numpy() if a.dtype in (torch.bfloat16, torch.float16) else a.numpy()
    else:
        dt = str(a.dtype)
    flat = np.ascontiguousarray(a).reshape(-1)
    if flat.dtype == np.bool_:
        vals = [1 if v else 0 for v in flat]
    elif flat.dtype.kind in "iu":
        vals = [int(v) for v in flat]
    else:
        vals = [float(v) for v in flat]
    return {"dtype": dt, "shape": list(a.shape), "values": vals}


def expect(name, **arrays):
    EXPECTED[name] = {k: describe(v) for k, v in arrays.items()}


def grid(shape, scale=0.25, offset=0.0):
    """Deterministic values exactly representable in f16/bf16/f32."""
    n = int(np.prod(shape))
    v = ((np.arange(n) * 7) % 23 - 11) * scale + offset
    return v.reshape(shape)


# ---------------------------------------------------------------- torch .pt
def torch_fixtures():
    t = torch.tensor(grid((3, 4)), dtype=torch.float32)
    torch.save(t, out("torch", "tensor_f32.pt"))
    expect("torch/tensor_f32.pt", root=t)

    feats = torch.tensor(grid((5, 3), 0.5), dtype=torch.float16)
    meta = {"layer": 20, "name": "resid_post", "scale": 0.5, "ids": [1, 2, 3], "flag": True,
            "none": None, "pair": (7, "seven"), "big": 2 ** 40, "neg": -3}
    torch.save({"feats": feats, "meta": meta}, out("torch", "dict_f16_meta.pt"))
    expect("torch/dict_f16_meta.pt", feats=feats)

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(torch.tensor(grid(tuple(p.shape), 0.125, i), dtype=torch.float32))
    sd = net.state_dict()  # an OrderedDict with a _metadata attribute (pickled with BUILD)
    torch.save(sd, out("torch", "state_dict.pt"))
    expect("torch/state_dict.pt", **{k: v for k, v in sd.items()})

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    view = base[1:, 2:5].t()  # [3, 3], strides (1, 6), storage offset 8
    assert not view.is_contiguous() and view.storage_offset() == 8
    torch.save({"view": view, "base": base}, out("torch", "view_offset.pt"))
    expect("torch/view_offset.pt", view=view, base=base)
    torch.save(view, out("torch", "view_only.pt"))
    expect("torch/view_only.pt", root=view)

    dts = {
        "f32": torch.tensor(grid((2, 3)), dtype=torch.float32),
        "f16": torch.tensor(grid((2, 3)), dtype=torch.float16),
        "bf16": torch.tensor(grid((2, 3)), dtype=torch.bfloat16),
        "f64": torch.tensor(grid((2, 3), 0.1), dtype=torch.float64),
        "i64": torch.tensor([[-(2 ** 40), 0, 5], [7, -1, 2 ** 33]], dtype=torch.int64),
        "i32": torch.tensor([-7, 0, 2 ** 30], dtype=torch.int32),
        "u8": torch.tensor([0, 1, 255, 128], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros((0, 4), dtype=torch.float32),
    }
    torch.save(dts, out("torch", "dtypes.pt"))
    expect("torch/dtypes.pt", **dts)

    # Hostile pickles, written by torch.save itself: loading them with pickle would run code.
    torch.save(EvilSystem(), out("torch", "hostile_os_system.pt"))
    torch.save(EvilEval(), out("torch", "hostile_eval.pt"))
    torch.save({"w": torch.ones(2), "obj": Custom(1)}, out("torch", "hostile_unknown_class.pt"))


class EvilSystem:
    def __reduce__(self):
        return (os.system, ("touch /tmp/saeguard_pwned_by_fixture",))


class EvilEval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch /tmp/saeguard_pwned_by_fixture')",))


class Custom:
    def __init__(self, v):
        self.v = v

    def __reduce__(self):
        return (Custom, (self.v,))


# ---------------------------------------------------------------- numpy
def numpy_fixtures():
    arrays = {
        "f2": grid((2, 3)).astype("<f2"),
        "f4": grid((3, 4)).astype("<f4"),
        "f8": grid((2, 5), 0.1).astype("<f8"),
        "i4": np.array([[-(2 ** 31), 0], [7, 2 ** 31 - 1]], dtype="<i4"),
        "i8": np.array([-(2 ** 62), 0, 2 ** 40], dtype="<i8"),
        "u1": np.array([0, 1, 200, 255], dtype="u1"),
        "b1": np.array([[True, False], [False, True]], dtype="?"),
        "f4_fortran": np.asfortranarray(grid((3, 4)).astype("<f4")),
        "i8_fortran_3d": np.asfortranarray(np.arange(24, dtype="<i8").reshape(2, 3, 4)),
        "f4_scalar": np.array(2.5, dtype="<f4"),
        "f4_empty": np.zeros((0, 3), dtype="<f4"),
    }
    for name, a in arrays.items():
        np.save(out("numpy", name + ".npy"), a)
        expect("numpy/" + name + ".npy", root=a)
        EXPECTED["numpy/" + name + ".npy"]["root"]["fortran_order"] = bool(a.flags.f_contiguous and not a.flags.c_contiguous)
    for ver in [(2, 0), (3, 0)]:
        a = grid((2, 2)).astype("<f4")
        name = f"f4_v{ver[0]}.npy"
        with open(out("numpy", name), "wb") as f:
            np.lib.format.write_array(f, a, version=ver)
        expect("numpy/" + name, root=a)
    stored = {"a": arrays["f4"], "b": arrays["i8"], "c": arrays["b1"], "d": arrays["f4_fortran"]}
    np.savez(out("numpy", "stored.npz"), **stored)
    expect("numpy/stored.npz", **stored)
    np.savez_compressed(out("numpy", "deflated.npz"), **stored)
    expect("numpy/deflated.npz", **stored)


# ---------------------------------------------------------------- safetensors
ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def safetensors_fixtures():
    ts = {
        "f32": torch.tensor(grid((3, 4)), dtype=torch.float32),
        "f16": torch.tensor(grid((2, 3)), dtype=torch.float16),
        "bf16": torch.tensor(grid((2, 3)), dtype=torch.bfloat16),
        "i64": torch.tensor([-(2 ** 40), 3, 2 ** 50], dtype=torch.int64),
        "i32": torch.tensor([[-5, 6], [7, -(2 ** 31)]], dtype=torch.int32),
        "u8": torch.tensor([0, 9, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, False, True], dtype=torch.bool),
    }
    write_safetensors(out("safetensors", "all_dtypes.safetensors"), ts, {"format": "pt", "note": "fixture"})
    expect("safetensors/all_dtypes.safetensors", **ts)


# ---------------------------------------------------------------- SAEs
def rng_sae(seed, d_in, d_sae):
    r = np.random.default_rng(seed)
    f32 = lambda *s: r.standard_normal(s).astype(np.float32)
    return dict(W_enc=f32(d_in, d_sae) * np.float32(0.5), b_enc=f32(d_sae) * np.float32(0.2),
                W_dec=f32(d_sae, d_in) * np.float32(0.5), b_dec=f32(d_in) * np.float32(0.3),
                x=f32(5, d_in))


def relu(v):
    return np.maximum(v, 0.0)


def topk_rows(pre, k):
    outp = np.zeros_like(pre)
    for i, row in enumerate(pre):
        idx = np.argsort(-row, kind="stable")[:k]
        outp[i, idx] = relu(row[idx])
    return outp


def margins_ok(pre, k=None, thr=None):
    """Values not within 1e-3 of a top-k cut, a threshold, or zero (so float32 agrees)."""
    if np.min(np.abs(pre)) < 1e-3:
        return False
    if k is not None:
        s = -np.sort(-pre, axis=1)
        if np.min(s[:, k - 1] - s[:, k]) < 1e-3:
            return False
    if thr is not None and np.min(np.abs(pre - thr)) < 1e-3:
        return False
    return True


def pick_sae(seed, d_in, d_sae, pre_fn, k=None, thr_fn=None):
    while True:
        p = rng_sae(seed, d_in, d_sae)
        thr = thr_fn(p) if thr_fn else None
        pre = pre_fn({k2: v.astype(np.float64) for k2, v in p.items()})
        if margins_ok(pre, k, thr):
            return p, thr
        seed += 1000


SAE_EXPECTED = {}


def sae_expect(name, x, codes, **extra):
    SAE_EXPECTED[name] = {"x": describe(np.asarray(x, np.float32)), "codes": describe(np.asarray(codes, np.float64)), **extra}


def sae_fixtures():
    d_in, d_sae, k = 6, 10, 3

    # SAELens v6 folder, topk
    pre_fn = lambda p: (p["x"] - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
    p, _ = pick_sae(1, d_in, d_sae, pre_fn, k=k)
    d = os.path.join("sae", "saelens_topk")
    cfg = {"architecture": "topk", "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
           "apply_b_dec_to_input": True, "normalize_activations": "none", "reshape_activations": "none",
           "k": k, "metadata": {"model_name": "fixture-model", "hook_name": "blocks.3.hook_resid_post",
                                 "hook_layer": 3, "sae_lens_version": "6.0.0"}}
    with open(out(d, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(out(d, "sae_weights.safetensors"),
                      {n: torch.from_numpy(p[n]) for n in ["W_enc", "b_enc", "W_dec", "b_dec"]})
    P = {a: b.astype(np.float64) for a, b in p.items()}
    sae_expect("saelens_topk", p["x"], topk_rows(pre_fn(P), k))

    # SAELens v5 folder, standard (relu) architecture with v5 fields only
    p, _ = pick_sae(2, d_in, d_sae, pre_fn)
    d = os.path.join("sae", "saelens_v5_standard")
    cfg = {"architecture": "standard", "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
           "model_name": "gpt2-small", "hook_name": "blocks.5.hook_resid_pre", "hook_layer": 5,
           "hook_head_index": None, "activation_fn_str": "relu", "activation_fn_kwargs": {},
           "apply_b_dec_to_input": True, "finetuning_scaling_factor": False, "context_size": 128,
           "dataset_path": "fixture", "prepend_bos": True, "normalize_activations": "none",
           "sae_lens_training_version": "5.4.0", "neuronpedia_id": None}
    with open(out(d, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(out(d, "sae_weights.safetensors"),
                      {n: torch.from_numpy(p[n]) for n in ["W_enc", "b_enc", "W_dec", "b_dec"]})
    P = {a: b.astype(np.float64) for a, b in p.items()}
    sae_expect("saelens_v5_standard", p["x"], relu(pre_fn(P)))

    # sparsify: encoder.weight [n_latents, d_in], topk of relu(encoder(x - b_dec))
    p, _ = pick_sae(3, d_in, d_sae, pre_fn, k=k)
    d = os.path.join("sae", "sparsify", "layers.4")
    with open(out(d, "cfg.json"), "w") as f:
        json.dump({"expansion_factor": 2, "normalize_decoder": True, "num_latents": d_sae, "k": k,
                   "multi_topk": False, "skip_connection": False, "d_in": d_in}, f)
    write_safetensors(out(d, "sae.safetensors"), {
        "encoder.weight": torch.from_numpy(np.ascontiguousarray(p["W_enc"].T)),
        "encoder.bias": torch.from_numpy(p["b_enc"]),
        "W_dec": torch.from_numpy(p["W_dec"]), "b_dec": torch.from_numpy(p["b_dec"])})
    P = {a: b.astype(np.float64) for a, b in p.items()}
    sae_expect("sparsify", p["x"], topk_rows(pre_fn(P), k))

    # dictionary_learning, the library's own module layouts
    dl_topk(d_in, d_sae, k, pre_fn)
    dl_standard(d_in, d_sae)
    dl_batchtopk(d_in, d_sae, k, pre_fn)
    dl_jumprelu(d_in, d_sae)

    # Gemma Scope params.npz: no b_dec subtraction; relu(pre) * (pre > threshold)
    gs_pre = lambda p: p["x"] @ p["W_enc"] + p["b_enc"]
    thr_fn = lambda p: np.abs(p["b_enc"]).astype(np.float32) * np.float32(0.5) + np.float32(0.05)
    p, thr = pick_sae(5, d_in, d_sae, gs_pre, thr_fn=thr_fn)
    np.savez(out("sae", "gemmascope", "params.npz"), W_enc=p["W_enc"], W_dec=p["W_dec"], b_enc=p["b_enc"],
             b_dec=p["b_dec"], threshold=thr)
    P = {a: b.astype(np.float64) for a, b in p.items()}
    pre = gs_pre(P)
    sae_expect("gemmascope", p["x"], relu(pre) * (pre > thr.astype(np.float64)))

    # A plain training checkpoint: {"epoch", "model_state_dict", "optimizer_state_dict", "config"}
    p, _ = pick_sae(6, d_in, d_sae, pre_fn)
    sd = collections.OrderedDict([
        ("encoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_enc"].T))),
        ("encoder.bias", torch.from_numpy(p["b_enc"])),
        ("decoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_dec"].T))),
        ("b_dec", torch.from_numpy(p["b_dec"]))])
    ckpt = {"epoch": 15, "model_state_dict": sd,
            "optimizer_state_dict": {"state": {0: {"step": torch.tensor(15.0), "exp_avg": torch.zeros(3)}},
                                     "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1, 2, 3]}]},
            "config": {"d_in": d_in, "d_sae": d_sae, "l1_coeff": 0.001}}
    torch.save(ckpt, out("sae", "plain", "ckpt_epoch_15.pt"))
    P = {a: b.astype(np.float64) for a, b in p.items()}
    sae_expect("plain", p["x"], relu(pre_fn(P)))


def dl_config(cls, trainer, d_in, d_sae, **extra):
    return {"trainer": {"dict_class": cls, "trainer_class": trainer, "activation_dim": d_in, "dict_size": d_sae,
                        "lr": 0.0003, "layer": 3, "lm_name": "fixture-lm", "submodule_name": "resid_post_layer_3",
                        "wandb_name": cls, **extra},
            "buffer": {"d_submodule": d_in, "io": "out", "n_ctxs": 8, "ctx_len": 16}}


def save_dl(name, sd, cfg):
    torch.save(sd, out("sae", "dictionary_learning", name, "ae.pt"))
    with open(out("sae", "dictionary_learning", name, "config.json"), "w") as f:
        json.dump(cfg, f, indent=4)


def dl_topk(d_in, d_sae, k, pre_fn):
    p, _ = pick_sae(7, d_in, d_sae, pre_fn, k=k)
    sd = collections.OrderedDict([
        ("b_dec", torch.from_numpy(p["b_dec"])),
        ("k", torch.tensor(k, dtype=torch.int64)),
        ("threshold", torch.tensor(-1.0, dtype=torch.float32)),
        ("encoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_enc"].T))),
        ("encoder.bias", torch.from_numpy(p["b_enc"])),
        ("decoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_dec"].T)))])
    save_dl("topk", sd, dl_config("AutoEncoderTopK", "TopKTrainer", d_in, d_sae, k=k, norm_factor=1.0))
    P = {a: b.astype(np.float64) for a, b in p.items()}
    sae_expect("dictionary_learning/topk", p["x"], topk_rows(pre_fn(P), k))


def dl_standard(d_in, d_sae):
    pre = lambda p: (p["x"] - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
    p, _ = pick_sae(8, d_in, d_sae, pre)
    sd = collections.OrderedDict([
        ("bias", torch.from_numpy(p["b_dec"])),
        ("encoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_enc"].T))),
        ("encoder.bias", torch.from_numpy(p["b_enc"])),
        ("decoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_dec"].T)))])
    save_dl("standard", sd, dl_config("AutoEncoder", "StandardTrainer", d_in, d_sae, l1_penalty=0.1))
    P = {a: b.astype(np.float64) for a, b in p.items()}
    sae_expect("dictionary_learning/standard", p["x"], relu(pre(P)))


def dl_batchtopk(d_in, d_sae, k, pre_fn):
    thr = np.float32(0.4)
    p, _ = pick_sae(9, d_in, d_sae, pre_fn, thr_fn=lambda p: np.float64(thr))
    sd = collections.OrderedDict([
        ("b_dec", torch.from_numpy(p["b_dec"])),
        ("k", torch.tensor(k, dtype=torch.int64)),
        ("threshold", torch.tensor(thr, dtype=torch.float32)),
        ("encoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_enc"].T))),
        ("encoder.bias", torch.from_numpy(p["b_enc"])),
        ("decoder.weight", torch.from_numpy(np.ascontiguousarray(p["W_dec"].T)))])
    save_dl("batchtopk", sd, dl_config("BatchTopKSAE", "BatchTopKTrainer", d_in, d_sae, k=k))
    P = {a: b.astype(np.float64) for a, b in p.items()}
    post = relu(pre_fn(P))
    sae_expect("dictionary_learning/batchtopk", p["x"], post * (post > float(thr)))


def dl_jumprelu(d_in, d_sae):
    pre = lambda p: p["x"] @ p["W_enc"] + p["b_enc"]
    thr_fn = lambda p: (np.abs(p["b_enc"]) * np.float32(0.3) + np.float32(0.1)).astype(np.float32)
    p, thr = pick_sae(10, d_in, d_sae, pre, thr_fn=thr_fn)
    sd = collections.OrderedDict([
        ("W_enc", torch.from_numpy(p["W_enc"])), ("b_enc", torch.from_numpy(p["b_enc"])),
        ("W_dec", torch.from_numpy(p["W_dec"])), ("b_dec", torch.from_numpy(p["b_dec"])),
        ("threshold", torch.from_numpy(thr))])
    save_dl("jumprelu", sd, dl_config("JumpReluAutoEncoder", "JumpReluTrainer", d_in, d_sae, bandwidth=0.001))
    P = {a: b.astype(np.float64) for a, b in p.items()}
    v = pre(P)
    sae_expect("dictionary_learning/jumprelu", p["x"], v * (v > thr.astype(np.float64)))


# ---------------------------------------------------------------- foreign dumps
def dump_fixtures():
    # the old system's layout: meta.json + <name>_chunk<i>.pt holding f16 [tokens, features]
    rows, feats = [4, 4, 3], 10
    allv = grid((sum(rows), feats), 0.5, 0.25).astype(np.float16)
    allv[allv < 0] = 0  # SAE codes: non-negative
    d = os.path.join("dumps", "sae_feats_layer20")
    with open(out(d, "meta.json"), "w") as f:
        json.dump({"layer": 20, "n_features": feats, "num_chunks": len(rows), "chunk_size": 4,
                   "model": "old-system", "total_tokens": sum(rows)}, f)
    start = 0
    for i, r in enumerate(rows):
        torch.save(torch.from_numpy(allv[start:start + r].copy()), out(d, f"sae_feats_layer20_chunk{i}.pt"))
        start += r
    np.savez(out(d, "feature_stats.npz"), firing_rate=(allv > 0).mean(0).astype(np.float32))
    expect("dumps/sae_feats_layer20", all=allv)

    # npy chunks stored transposed, [features, tokens], meta says d_sae; chunk10 sorts after chunk2
    allt = grid((7, 12), 0.25, 1.0).astype(np.float32)  # 12 features x 7 tokens after transpose
    d = os.path.join("dumps", "npy_transposed")
    with open(out(d, "meta.json"), "w") as f:
        json.dump({"config": {"d_sae": 12}, "notes": "features by tokens"}, f)
    parts = [(2, allt[0:3]), (10, allt[3:7])]
    for idx, part in parts:
        np.save(out(d, f"chunk{idx}.npy"), np.ascontiguousarray(part.T))
    expect("dumps/npy_transposed", all=allt)

    # safetensors chunks with a dict of tensors, no meta.json; 3-D [batch, seq, d]
    d = os.path.join("dumps", "st_3d")
    a = grid((2, 3, 5), 0.125).astype(np.float32)
    b = grid((1, 3, 5), 0.125, 2.0).astype(np.float32)
    write_safetensors(out(d, "part_0.safetensors"), {"acts": torch.from_numpy(a), "token_ids": torch.arange(6, dtype=torch.int32).reshape(2, 3)})
    write_safetensors(out(d, "part_1.safetensors"), {"acts": torch.from_numpy(b), "token_ids": torch.arange(6, 9, dtype=torch.int32).reshape(1, 3)})
    expect("dumps/st_3d", all=np.concatenate([a.reshape(-1, 5), b.reshape(-1, 5)]))

    # dict chunks {"feats": f16, "meta": {...}}
    d = os.path.join("dumps", "dict_chunks")
    c0 = torch.tensor(grid((3, 4), 0.5), dtype=torch.float16)
    c1 = torch.tensor(grid((2, 4), 0.5, 1.0), dtype=torch.float16)
    torch.save({"feats": c0, "meta": {"chunk": 0, "doc_ids": [0, 0, 1]}}, out(d, "feats_chunk_0.pt"))
    torch.save({"feats": c1, "meta": {"chunk": 1, "doc_ids": [1, 2]}}, out(d, "feats_chunk_1.pt"))
    expect("dumps/dict_chunks", all=torch.cat([c0, c1]))


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    torch_fixtures()
    numpy_fixtures()
    safetensors_fixtures()
    sae_fixtures()
    dump_fixtures()
    with open(out("expected.json"), "w") as f:
        json.dump({"torch": torch.__version__, "numpy": np.__version__, "arrays": EXPECTED}, f)
    with open(out("sae_expected.json"), "w") as f:
        json.dump(SAE_EXPECTED, f)
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(ROOT) for fn in fns)
    print(f"wrote fixtures to {ROOT}: {total} bytes")


if __name__ == "__main__":
    main()
