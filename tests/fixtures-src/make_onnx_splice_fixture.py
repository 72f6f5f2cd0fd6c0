#!/usr/bin/python3
"""Writes the float64 reference logits of the committed ONNX decoder fixtures with one block's
output rewritten, for the spliced-eval tests (tests/SaeGuard.Tests/Eval/OnnxDecoderSpliceTests.cs).

Run once with Debian's python3-torch (1.13), python3-onnx (1.12), python3-numpy and python3-regex:
    /usr/bin/python3 tests/fixtures-src/make_onnx_splice_fixture.py
Outputs (committed): tests/SaeGuard.Tests/Fixtures/eval/onnx-splice/{gpt2,llama}.npy + .json

The torch models of tests/SaeGuard.Tests/Fixtures/onnx/{gpt2,llama}/model.onnx are rebuilt by
replaying make_onnx_decoders.py's seeded construction (its tokenizers and exports go to a temporary
folder; nothing under Fixtures/onnx is touched). That they are the committed models is checked
against the committed expected.npy (hidden states after every block) before anything is written.

Per model: the first two fixture texts, each alone (no padding, empty past, position_ids =
cumsum(mask) - 1), float64 logits [variant, case, t, vocab] (float32 in the .npy, zero past a
case's length) for the variants named in the .json:
  clean         the unmodified model
  zero-L        block L's output (resid_post, the residual stream after block L) set to 0 at every
                position, for L = 0, 1, 2 (SAELens's zero ablation)
  half-1-nobos  block 1's output times 0.5 at positions >= 1 (position 0 keeps its clean value:
                the BOS-kept splice of the Llama fixture)
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_onnx_decoders as M  # noqa: E402  (seeds torch with 1234 on import, as its own run does)

FIX = os.path.join(HERE, "..", "SaeGuard.Tests", "Fixtures")
OUT = os.path.join(FIX, "eval", "onnx-splice")
CASES = 2


def rebuild():
    """Replays make_onnx_decoders.write_torch_models' construction order (same torch RNG draws)."""
    tmp = tempfile.mkdtemp()
    M.ROOT = tmp
    refs = M.write_tokenizers()
    gtj = refs["gpt2"][0]
    gpt2 = M.Gpt2(len(gtj["model"]["vocab"]) + len(gtj["added_tokens"])).eval()
    M.export_decoder(gpt2, 3, 4, 12, M.out("gpt2", "model.onnx"))
    ltj = refs["llama2"][0]
    llama = M.Llama(len(ltj["model"]["vocab"])).eval()
    return {"gpt2": (gpt2, gpt2.blocks, 4, 12), "llama": (llama, llama.layers, 2, 16)}


def forward(model, blocks, kv, hd, ids, rewrite=None):
    """float64 logits [t, vocab] of one text; rewrite(layer, x) may replace a block's output."""
    hooks = []
    if rewrite is not None:
        for i, blk in enumerate(blocks):
            hooks.append(blk.register_forward_hook(
                lambda mod, inp, out, i=i: (rewrite(i, out[0]),) + tuple(out[1:])))
    try:
        with torch.no_grad():
            x = torch.tensor([ids])
            mask = torch.ones_like(x)
            past = [torch.zeros(1, kv, 0, hd, dtype=torch.float64) for _ in range(2 * len(blocks))]
            col = []
            logits = model(x, mask, M.hf_position_ids(mask), *past, collect=col)[0][0]
            return logits.numpy(), np.stack([c[0].numpy() for c in col])
    finally:
        for h in hooks:
            h.remove()


def zero_at(layer):
    return lambda i, x: torch.zeros_like(x) if i == layer else x


def half_after_bos(layer):
    def f(i, x):
        if i != layer:
            return x
        y = x.clone()
        y[:, 1:] *= 0.5
        return y
    return f


def main():
    models = rebuild()
    os.makedirs(OUT, exist_ok=True)
    for name, (model, blocks, kv, hd) in models.items():
        with open(os.path.join(FIX, "onnx", name, "expected.json"), encoding="utf-8") as f:
            cases = json.load(f)["cases"][:CASES]
        expected = np.load(os.path.join(FIX, "onnx", name, "expected.npy"))
        model.double()
        variants = [("clean", None)] + [(f"zero-{l}", zero_at(l)) for l in range(len(blocks))] + [("half-1-nobos", half_after_bos(1))]
        tmax = max(len(c["ids"]) for c in cases)
        vocab = model.lm_head.out_features
        arr = np.zeros((len(variants), len(cases), tmax, vocab), dtype=np.float32)
        for c, case in enumerate(cases):
            ids = case["ids"]
            _, hidden = forward(model, blocks, kv, hd, ids)
            err = np.abs(hidden - expected[c, :, :len(ids)]).max()
            if err > 1e-5:
                raise SystemExit(f"{name}: the rebuilt torch model is not the committed one (hidden states differ by {err})")
            for v, (_, rw) in enumerate(variants):
                arr[v, c, :len(ids)] = forward(model, blocks, kv, hd, ids, rw)[0]
        np.save(os.path.join(OUT, name + ".npy"), arr)
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"model": f"Fixtures/onnx/{name}/model.onnx", "variants": [v for v, _ in variants],
                       "cases": [{"text": c["text"], "ids": c["ids"]} for c in cases]}, f, ensure_ascii=False, indent=1)
        print(f"wrote {name}: {arr.shape}")


if __name__ == "__main__":
    main()
