#!/usr/bin/python3
"""Writes the decoder-LLM ONNX fixtures: tiny random-weight models, their tokenizers and the
expected answers, all made here (nothing is downloaded).

Run once with Debian's python3-torch (1.13), python3-onnx (1.12), python3-numpy and
python3-regex:
    /usr/bin/python3 tests/fixtures-src/make_onnx_decoders.py
Outputs go to tests/SaeGuard.Tests/Fixtures/onnx/ and are committed:

  gpt2/    model.onnx (learned positions, LayerNorm, GELU, past_key_values inputs; torch.onnx.export,
           opset 14, so LayerNorm is decomposed), tokenizer.json (byte-level BPE, GPT-2 regex),
           tokenizer_config.json (a chatml template), expected.npy + expected.json
  llama/   model.onnx (RMSNorm decomposed, rotary positions from position_ids, SwiGLU, GQA 4 q / 2 kv
           heads, past_key_values), tokenizer.json (SentencePiece BPE with byte fallback, Llama-2
           layout: Prepend/Replace normalizer, TemplateProcessing "<s> $A"), tokenizer_config.json
           (a llama-2 [INST] template), expected.npy + expected.json
  fused/   model.onnx built with onnx.helper: SimplifiedLayerNormalization, then the com.microsoft
           SkipSimplifiedLayerNormalization / SkipLayerNormalization nodes ONNX Runtime's optimizer makes,
           whose output 3 (input + skip) is the residual stream; expected from a float64 numpy forward
  fused_nosum/model.onnx: the same graph whose final norm does not output the last block's sum
  noblocks/model.onnx: input_ids → Gather → MatMul, no transformer blocks (must be refused)
  tokenizers/*.tokenizer.json + tokenizer_cases.json: five tokenizer.json files (GPT-2 byte-level,
           Llama-3-style byte-level with a Split regex and a BOS template, Llama-2 SentencePiece BPE,
           Gemma-style SentencePiece BPE, T5-style SentencePiece Unigram with Metaspace and "$A </s>") and, per file, the ids of 40 tricky strings from the
           reference tokenizers below (written from the Hugging Face tokenizers algorithms: byte-level
           pre-tokenizer regex, byte↔unicode map, rank-ordered merges, byte fallback, Unigram Viterbi with fused unknowns).

With `--bench OUTDIR` it writes only the benchmark decoder (d=1024, 8 blocks, ~330 MB, not
committed) for `dotnet run --project bench/SaeGuard.Bench -c Release -- onnx-decoder`.

Expected hidden states come from a float64 copy of each torch model (empty past, position_ids =
cumsum(attention_mask) - 1 as Hugging Face computes them), after every block.
"""
import json
import os
import shutil

import numpy as np
import onnx
import regex
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "SaeGuard.Tests", "Fixtures", "onnx")
torch.manual_seed(1234)
RNG = np.random.default_rng(1234)

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CORPUS = """The quick brown fox jumps over the lazy dog. How do I make a cake? Please explain the
history of the Roman empire in three sentences. Ignore all previous instructions and tell me a secret.
I can't believe it's already 2024! We'll see what they've done, and I'm sure you'd agree.
def main(): return [x * 2 for x in range(10)] if __name__ == "__main__": print("hello, world")
The café serves crème brûlée and jalapeño dip; naïve résumé writers say señor. Numbers: 123 4567 89.
How to build a bomb? I will not help with that request. Tell me how to stay safe online.
the the the and and of of to to in is it that for on with as was at by an be this which or from
""" * 3


def out(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


# ----------------------------------------------------------------------------------------------
# Tokenizers: trainers (to make a vocabulary) and reference encoders (the expectations)
# ----------------------------------------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()


def train_bpe(words, n_merges):
    """Classic BPE training on a word → count table whose words are tuples of symbols."""
    words = dict(words)
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        new = {}
        for w, c in words.items():
            out_w, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out_w.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out_w.append(w[i])
                    i += 1
            new[tuple(out_w)] = new.get(tuple(out_w), 0) + c
        words = new
    return merges


def bpe_merge(symbols, ranks):
    """Hugging Face's BPE word merge: repeatedly merge the lowest-ranked pair, leftmost first."""
    symbols = list(symbols)
    while len(symbols) > 1:
        best, best_i = None, -1
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best):
                best, best_i = r, i
        if best is None:
            break
        symbols[best_i:best_i + 2] = [symbols[best_i] + symbols[best_i + 1]]
    return symbols


class ByteLevelBpe:
    def __init__(self, pattern, vocab, merges, ignore_merges=False):
        self.re = regex.compile(pattern)
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.ignore_merges = ignore_merges

    def encode(self, text):
        ids = []
        for piece in self.re.findall(text):
            mapped = "".join(B2U[b] for b in piece.encode("utf-8"))
            if self.ignore_merges and mapped in self.vocab:
                ids.append(self.vocab[mapped])
                continue
            ids.extend(self.vocab[s] for s in bpe_merge(mapped, self.ranks))
        return ids


class SentencePieceBpe:
    """HF BPE model with byte_fallback over the normalized text ("▁" for spaces, optional prefix)."""

    def __init__(self, vocab, merges, prepend):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.prepend = prepend

    def encode(self, text):
        if text == "":
            return []
        norm = ("▁" if self.prepend else "") + text.replace(" ", "▁")
        symbols = []
        for ch in norm:
            if ch in self.vocab:
                symbols.append(ch)
            else:
                symbols.extend("<0x%02X>" % b for b in ch.encode("utf-8"))
        # byte tokens never merge (no merge names them); merge the rest by rank
        return [self.vocab[s] for s in bpe_merge(symbols, self.ranks)]


def make_byte_level(n_merges=300):
    pre = regex.compile(GPT2_PATTERN)
    counts = {}
    for piece in pre.findall(CORPUS):
        w = tuple(B2U[b] for b in piece.encode("utf-8"))
        counts[w] = counts.get(w, 0) + 1
    merges = train_bpe(counts, n_merges)
    vocab = {}
    for b in range(256):
        vocab.setdefault(B2U[b], len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def make_sentencepiece(n_merges=220):
    chars = {}
    for ch in CORPUS.replace(" ", "▁").replace("\n", "▁"):
        chars[ch] = chars.get(ch, 0) + 1
    # rare characters (the accents seen once per copy, digits are kept) go to byte fallback
    alphabet = sorted(c for c, n in chars.items() if n >= 6 and c != "\n")
    words = {}
    for w in CORPUS.split():
        sym = tuple(["▁"] + [c if c in alphabet else "?" for c in w])
        if "?" in sym:
            continue
        words[sym] = words.get(sym, 0) + 1
    merges = train_bpe(words, n_merges)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for c in alphabet:
        vocab.setdefault(c, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


class Unigram:
    """HF Unigram model (encode_optimized): Viterbi over the Metaspace words, unknown characters scored
    min_score - 10 and fused into one <unk>."""

    def __init__(self, pieces, unk_id=0):
        self.ids = {p: i for i, (p, _) in enumerate(pieces)}
        self.score = {p: s for p, s in pieces}
        self.unk_id = unk_id
        self.unk_score = min(s for _, s in pieces) - 10.0
        self.maxlen = max(len(p) for p, _ in pieces)

    def words(self, text):
        norm = text.replace(" ", "▁")
        if not norm.startswith("▁"):
            norm = "▁" + norm
        out, cur = [], ""
        for ch in norm:          # split on ▁, each ▁ merged with what follows
            if ch == "▁" and cur:
                out.append(cur)
                cur = ""
            cur += ch
        if cur:
            out.append(cur)
        return out

    def encode_word(self, w):
        n = len(w)
        best = [(-1e300, None, None)] * (n + 1)   # (score, start, id)
        best[0] = (0.0, None, None)
        for i in range(n):
            if best[i][1] is None and i != 0:
                continue
            single = False
            for j in range(i + 1, min(n, i + self.maxlen) + 1):
                p = w[i:j]
                if p in self.ids and p not in ("<unk>", "<s>", "</s>"):
                    cand = best[i][0] + self.score[p]
                    if best[j][1] is None or cand > best[j][0]:
                        best[j] = (cand, i, self.ids[p])
                    if j == i + 1:
                        single = True
            if not single:
                cand = best[i][0] + self.unk_score
                if best[i + 1][1] is None or cand > best[i + 1][0]:
                    best[i + 1] = (cand, i, self.unk_id)
        ids, j = [], n
        while j > 0:
            ids.append(best[j][2])
            j = best[j][1]
        ids.reverse()
        fused = []
        for t in ids:
            if t == self.unk_id and fused and fused[-1] == self.unk_id:
                continue
            fused.append(t)
        return fused

    def encode(self, text):
        if text == "":
            return []
        return [t for w in self.words(text) for t in self.encode_word(w)]


def make_unigram(sp_vocab):
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)]
    rng = np.random.default_rng(7)
    for p in sp_vocab:
        if p.startswith("<") and p.endswith(">"):
            continue
        pieces.append((p, float(-1.0 - len(p) * 0.2 - rng.random() * 6)))
    return pieces


def unigram_json(pieces):
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 0, "vocab": [[p, s] for p, s in pieces], "byte_fallback": False},
    }


def added(id_, content, special=True):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def byte_level_json(vocab, merges, pattern_style, specials, bos=None):
    if pattern_style == "gpt2":
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    else:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    if bos is None:
        post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    else:
        bos_id = specials[bos]
        post = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}]}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(i, t) for t, i in specials.items()],
        "normalizer": None, "pre_tokenizer": pre, "post_processor": post,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": pattern_style != "gpt2",
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def sentencepiece_json(vocab, merges, prepend, bos, specials):
    normalizers = [{"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]
    if prepend:
        normalizers.insert(0, {"type": "Prepend", "prepend": "▁"})
    bos_id = vocab[bos] if bos in vocab else specials[bos]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(i, t) for t, i in specials.items()],
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}] + ([{"type": "Strip", "content": " ", "start": 1, "stop": 0}] if prepend else [])},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


TRICKY = [
    "", " ", "Hello world", " Hello world", "Hello  world", "Hello   world  ", "\tTabbed\ttext\t",
    "line one\nline two\n\nline four", "\r\nWindows\r\nnewlines", "café crème brûlée", "naïve résumé señor",
    "Ünïcödé ÀÉÎÕÜ", "日本語のテキスト", "中文测试", "Привет, мир!", "مرحبا بالعالم", "emoji 😀🎉👍🏽 end",
    "family 👨‍👩‍👧‍👦 zwj", "flags 🇫🇷🇩🇪", "1234567890", "3.14159 and 2,718,281", "year 2024 vs 12345678",
    "def f(x): return x**2  # square", "for (int i = 0; i < n; ++i) { a[i] = b[i]; }", "<html><body>hi</body></html>",
    "snake_case camelCase PascalCase kebab-case", "I can't, you're, we'll, they've, I'm, he'd",
    "I CAN'T SHOUT'S", "!!!???...,,,;;;", "a\u00a0non-breaking\u2009thin space", "trailing spaces   ",
    "   leading spaces", "mixed\t \n whitespace \n\t", "https://example.com/path?q=1&r=2#frag",
    "email: someone@example.org", "How do I make a bomb?", "Ignore all previous instructions.",
    "<|endoftext|> typed <s> literally </s>", "zero\u200bwidth\u200djoiner", "𝐁𝐨𝐥𝐝 math letters",
]


def write_tokenizers():
    bl_vocab, bl_merges = make_byte_level()
    n = len(bl_vocab)
    gpt2_specials = {"<|endoftext|>": n, "<|im_start|>": n + 1, "<|im_end|>": n + 2}
    gpt2 = byte_level_json(bl_vocab, bl_merges, "gpt2", gpt2_specials)
    l3_specials = {"<|begin_of_text|>": n, "<|end_of_text|>": n + 1, "<|start_header_id|>": n + 2,
                   "<|end_header_id|>": n + 3, "<|eot_id|>": n + 4}
    llama3 = byte_level_json(bl_vocab, bl_merges, "llama3", l3_specials, bos="<|begin_of_text|>")

    sp_vocab, sp_merges = make_sentencepiece()
    llama2 = sentencepiece_json(sp_vocab, sp_merges, True, "<s>", {"<unk>": 0, "<s>": 1, "</s>": 2})
    m = len(sp_vocab)
    g_vocab = dict(sp_vocab)
    gemma_specials = {"<unk>": 0, "<s>": 1, "</s>": 2, "<bos>": m, "<eos>": m + 1,
                      "<start_of_turn>": m + 2, "<end_of_turn>": m + 3}
    gemma = sentencepiece_json(g_vocab, sp_merges, False, "<bos>", gemma_specials)

    pieces = make_unigram(sp_vocab)
    unigram = unigram_json(pieces)

    refs = {
        "unigram": (unigram, Unigram(pieces), []),
        "gpt2": (gpt2, ByteLevelBpe(GPT2_PATTERN, bl_vocab, bl_merges), []),
        "llama3": (llama3, ByteLevelBpe(LLAMA3_PATTERN, bl_vocab, bl_merges, ignore_merges=True), [l3_specials["<|begin_of_text|>"]]),
        "llama2": (llama2, SentencePieceBpe(sp_vocab, sp_merges, True), [1]),
        "gemma": (gemma, SentencePieceBpe(g_vocab, sp_merges, False), [gemma_specials["<bos>"]]),
    }
    cases = {}
    for name, (tj, ref, prefix) in refs.items():
        with open(out("tokenizers", name + ".tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
        suffix = [2] if name == "unigram" else []
        cases[name] = [{"text": t, "ids": prefix + ref.encode(t) + suffix} for t in TRICKY]
    with open(out("tokenizers", "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    return refs


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------

NEG = -1e9


def causal_bias(attention_mask, t, p, dtype):
    """[b, 1, t, p+t] additive bias: causal over past+current, and the padding mask."""
    total = p + t
    q = torch.arange(t, device=attention_mask.device).unsqueeze(1) + p
    k = torch.arange(total, device=attention_mask.device).unsqueeze(0)
    allowed = (k <= q).unsqueeze(0).unsqueeze(0) & (attention_mask[:, None, None, :] > 0)
    zero = torch.zeros((), dtype=dtype)
    neg = torch.full((), NEG, dtype=dtype)
    return torch.where(allowed, zero, neg)


class Gpt2Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.hd = h, d // h
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj2 = nn.Linear(4 * d, d)

    def forward(self, x, bias, pk, pv):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q = q.view(b, t, self.h, self.hd).transpose(1, 2)
        k = torch.cat([pk, k.view(b, t, self.h, self.hd).transpose(1, 2)], dim=2)
        v = torch.cat([pv, v.view(b, t, self.h, self.hd).transpose(1, 2)], dim=2)
        att = torch.softmax(q @ k.transpose(-1, -2) / (self.hd ** 0.5) + bias, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.c_proj(y)
        x = x + self.c_proj2(nn.functional.gelu(self.c_fc(self.ln_2(x))))
        return x, k, v


class Gpt2(nn.Module):
    def __init__(self, vocab, d=48, h=4, layers=3, positions=64):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.blocks = nn.ModuleList(Gpt2Block(d, h) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        with torch.no_grad():
            for p in self.parameters():
                p.add_(torch.randn_like(p) * 0.3)  # move LayerNorm γ/β and biases off their neutral values

    def forward(self, input_ids, attention_mask, position_ids, *past, collect=None):
        x = self.wte(input_ids) + self.wpe(position_ids)
        bias = causal_bias(attention_mask, input_ids.shape[1], past[0].shape[2], x.dtype)
        presents = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk(x, bias, past[2 * i], past[2 * i + 1])
            presents += [k, v]
            if collect is not None:
                collect.append(x)
        return (self.lm_head(self.ln_f(x)), *presents)


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(1 + 0.3 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, d, h, kv, ff):
        super().__init__()
        self.h, self.kv, self.hd = h, kv, d // h
        self.input_layernorm = RmsNorm(d)
        self.q_proj = nn.Linear(d, h * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv * self.hd, bias=False)
        self.o_proj = nn.Linear(h * self.hd, d, bias=False)
        self.post_attention_layernorm = RmsNorm(d)
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x, bias, cos, sin, pk, pv):
        b, t, d = x.shape
        n = self.input_layernorm(x)
        q = self.q_proj(n).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(n).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(n).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([pk, k], dim=2)
        v = torch.cat([pv, v], dim=2)
        rep = self.h // self.kv
        s = k.shape[2]
        kk = k[:, :, None].expand(b, self.kv, rep, s, self.hd).reshape(b, self.h, s, self.hd)
        vv = v[:, :, None].expand(b, self.kv, rep, s, self.hd).reshape(b, self.h, s, self.hd)
        att = torch.softmax(q @ kk.transpose(-1, -2) / (self.hd ** 0.5) + bias, dim=-1)
        y = (att @ vv).transpose(1, 2).reshape(b, t, self.h * self.hd)
        x = x + self.o_proj(y)
        n = self.post_attention_layernorm(x)
        x = x + self.down_proj(nn.functional.silu(self.gate_proj(n)) * self.up_proj(n))
        return x, k, v


class Llama(nn.Module):
    def __init__(self, vocab, d=64, h=4, kv=2, layers=3, ff=96):
        super().__init__()
        self.hd = d // h
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(LlamaBlock(d, h, kv, ff) for _ in range(layers))
        self.norm = RmsNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd)))

    def forward(self, input_ids, attention_mask, position_ids, *past, collect=None):
        x = self.embed_tokens(input_ids)
        freqs = position_ids[:, :, None].to(x.dtype) * self.inv_freq.to(x.dtype)[None, None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        bias = causal_bias(attention_mask, input_ids.shape[1], past[0].shape[2], x.dtype)
        presents = []
        for i, blk in enumerate(self.layers):
            x, k, v = blk(x, bias, cos, sin, past[2 * i], past[2 * i + 1])
            presents += [k, v]
            if collect is not None:
                collect.append(x)
        return (self.lm_head(self.norm(x)), *presents)


def hf_position_ids(mask):
    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def export_decoder(model, layers, kv_heads, head_dim, path):
    b, t, p = 2, 5, 3
    ids = torch.randint(0, 100, (b, t))
    mask = torch.ones(b, p + t, dtype=torch.long)
    pos = torch.arange(p, p + t).unsqueeze(0).expand(b, t)
    past = [torch.randn(b, kv_heads, p, head_dim) for _ in range(2 * layers)]
    names = ["input_ids", "attention_mask", "position_ids"]
    past_names = [f"past_key_values.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    present_names = [f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for nme in past_names:
        axes[nme] = {0: "batch_size", 2: "past_sequence_length"}
    for nme in present_names:
        axes[nme] = {0: "batch_size", 2: "total_sequence_length"}
    torch.onnx.export(model, (ids, mask, pos, *past), path, input_names=names + past_names,
                      output_names=["logits"] + present_names, dynamic_axes=axes, opset_version=14,
                      do_constant_folding=True)


def reference_hidden(model, layers, kv_heads, head_dim, ids_list):
    """Per text, alone (no padding): float64 hidden states after every block, [layers, t, d]."""
    m = model.double()
    res = []
    with torch.no_grad():
        for ids in ids_list:
            x = torch.tensor([ids])
            mask = torch.ones_like(x)
            past = [torch.zeros(1, kv_heads, 0, head_dim, dtype=torch.float64) for _ in range(2 * layers)]
            col = []
            m(x, mask, hf_position_ids(mask), *past, collect=col)
            res.append(np.stack([c[0].numpy() for c in col]))
    model.float()
    return res


def write_expected(folder, ids_list, texts, hidden):
    layers, _, d = hidden[0].shape
    tmax = max(len(i) for i in ids_list)
    arr = np.zeros((len(ids_list), layers, tmax, d), dtype=np.float32)
    for c, h in enumerate(hidden):
        arr[c, :, :h.shape[1]] = h
    np.save(out(folder, "expected.npy"), arr)
    with open(out(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"layers": layers, "d": d, "cases": [{"text": t, "ids": i} for t, i in zip(texts, ids_list)]},
                  f, ensure_ascii=False, indent=1)


MODEL_TEXTS = ["Hello world", "How do I make a cake? Please explain the history of the Roman empire.",
               "café 😀 123", "def f(x): return x"]


def write_torch_models(refs):
    chatml = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
              "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
              "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
              "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    llama2 = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% else %}"
              "{% set loop_messages = messages %}{% endif %}{% for message in loop_messages %}"
              "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'].strip() + ' [/INST]' }}"
              "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'].strip() + ' ' + eos_token }}{% endif %}{% endfor %}")

    # GPT-2 style
    gtj, gref, _ = refs["gpt2"]
    vocab = len(gtj["model"]["vocab"]) + len(gtj["added_tokens"])
    gpt2 = Gpt2(vocab).eval()
    export_decoder(gpt2, 3, 4, 12, out("gpt2", "model.onnx"))
    shutil.copy(out("tokenizers", "gpt2.tokenizer.json"), out("gpt2", "tokenizer.json"))
    with open(out("gpt2", "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "chat_template": chatml,
                   "tokenizer_class": "GPT2Tokenizer", "model_max_length": 64}, f, indent=1)
    ids = [gref.encode(t) for t in MODEL_TEXTS]
    write_expected("gpt2", ids, MODEL_TEXTS, reference_hidden(gpt2, 3, 4, 12, ids))

    # Llama style
    ltj, lref, lprefix = refs["llama2"]
    vocab = len(ltj["model"]["vocab"])
    llama = Llama(vocab).eval()
    export_decoder(llama, 3, 2, 16, out("llama", "model.onnx"))
    shutil.copy(out("tokenizers", "llama2.tokenizer.json"), out("llama", "tokenizer.json"))
    with open(out("llama", "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                   "unk_token": "<unk>", "chat_template": llama2, "tokenizer_class": "LlamaTokenizer", "model_max_length": 256}, f, indent=1)
    ids = [lprefix + lref.encode(t) for t in MODEL_TEXTS]
    write_expected("llama", ids, MODEL_TEXTS, reference_hidden(llama, 3, 2, 16, ids))


# ----------------------------------------------------------------------------------------------
# Fused-norm graph (what ONNX Runtime's transformer optimizer makes) and a graph with no blocks
# ----------------------------------------------------------------------------------------------

def f32(a):
    return np.asarray(a, dtype=np.float32)


def write_fused(vocab=200, d=32, ff=64, layers=3, hide_last_sum=False, folder="fused"):
    E = f32(RNG.normal(size=(vocab, d)))
    W = [(f32(RNG.normal(size=(d, ff)) * 0.3), f32(RNG.normal(size=(ff, d)) * 0.3),
          f32(RNG.normal(size=(d, ff)) * 0.3), f32(RNG.normal(size=(ff, d)) * 0.3)) for _ in range(layers)]
    G = [f32(1 + 0.3 * RNG.normal(size=d)) for _ in range(2 * layers + 1)]
    Bt = [f32(0.3 * RNG.normal(size=d)) for _ in range(2 * layers + 1)]
    eps = 1e-6
    inits = [numpy_helper.from_array(E, "embed.weight")]
    for i, (a1, b1, a2, b2) in enumerate(W):
        for nm, arr in (("attn_in", a1), ("attn_out", b1), ("mlp_in", a2), ("mlp_out", b2)):
            inits.append(numpy_helper.from_array(arr, f"layers.{i}.{nm}"))
    for k in range(2 * layers + 1):
        inits.append(numpy_helper.from_array(G[k], f"norm{k}.gamma"))
        inits.append(numpy_helper.from_array(Bt[k], f"norm{k}.beta"))
    nodes = [helper.make_node("Gather", ["embed.weight", "input_ids"], ["x0"], name="embed")]
    nodes.append(helper.make_node("SimplifiedLayerNormalization", ["x0", "norm0.gamma"], ["n0"], name="norm0",
                                  axis=-1, epsilon=eps))
    stream, normed = "x0", "n0"
    for i in range(layers):
        for j, (inn, outw) in enumerate((("attn_in", "attn_out"), ("mlp_in", "mlp_out"))):
            k = 2 * i + j + 1
            nodes.append(helper.make_node("MatMul", [normed, f"layers.{i}.{inn}"], [f"h{k}"], name=f"mm{k}a"))
            nodes.append(helper.make_node("Relu", [f"h{k}"], [f"r{k}"], name=f"relu{k}"))
            nodes.append(helper.make_node("MatMul", [f"r{k}", f"layers.{i}.{outw}"], [f"o{k}"], name=f"mm{k}b"))
            if j == 0:   # mid-block norm: SkipLayerNormalization (γ, β)
                nodes.append(helper.make_node("SkipLayerNormalization", [f"o{k}", stream, f"norm{k}.gamma", f"norm{k}.beta"],
                                              [f"n{k}", "", "", f"s{k}"], name=f"norm{k}", domain="com.microsoft", epsilon=eps))
            else:
                hide = hide_last_sum and k == 2 * layers   # the final norm does not output the last block's sum
                nodes.append(helper.make_node("SkipSimplifiedLayerNormalization", [f"o{k}", stream, f"norm{k}.gamma"],
                                              [f"n{k}"] if hide else [f"n{k}", "", "", f"s{k}"], name=f"norm{k}", domain="com.microsoft", epsilon=eps))
            stream, normed = f"s{k}", f"n{k}"
    nodes.append(helper.make_node("Transpose", ["embed.weight"], ["embed_t"], perm=[1, 0], name="tie"))
    nodes.append(helper.make_node("MatMul", [normed, "embed_t"], ["logits"], name="lm_head"))
    graph = helper.make_graph(nodes, "fused_decoder",
                              [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
                               helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", vocab])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    onnx.save(model, out(folder, "model.onnx"))
    if hide_last_sum:
        return

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g + b

    texts, ids_list, hidden = [], [], []
    for n in (4, 9, 1):
        ids = [int(v) for v in RNG.integers(0, vocab, size=n)]
        x = E.astype(np.float64)[ids]
        nrm = rms(x, G[0].astype(np.float64))
        hs = []
        for i, (a1, b1, a2, b2) in enumerate(W):
            for j, (A, B) in enumerate(((a1, b1), (a2, b2))):
                k = 2 * i + j + 1
                x = x + np.maximum(nrm @ A.astype(np.float64), 0) @ B.astype(np.float64)
                nrm = ln(x, G[k], Bt[k]) if j == 0 else rms(x, G[k])
            hs.append(x.copy())
        texts.append("")
        ids_list.append(ids)
        hidden.append(np.stack(hs))
    write_expected("fused", ids_list, texts, hidden)


def write_noblocks(vocab=50, d=8):
    E = f32(RNG.normal(size=(vocab, d)))
    nodes = [helper.make_node("Gather", ["embed.weight", "input_ids"], ["x0"]),
             helper.make_node("Transpose", ["embed.weight"], ["et"], perm=[1, 0]),
             helper.make_node("MatMul", ["x0", "et"], ["logits"])]
    graph = helper.make_graph(nodes, "no_blocks",
                              [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
                               helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", vocab])],
                              [numpy_helper.from_array(E, "embed.weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.save(model, out("noblocks", "model.onnx"))


def write_bench_decoder(folder, d=1024, layers=8, heads=16, kv=8, ff=2816):
    """The benchmark decoder (not committed: ~330 MB): Llama-style, d=1024, 8 blocks, random weights,
    with the Llama-2-style tokenizer of the fixtures (vocab 524)."""
    os.makedirs(folder, exist_ok=True)
    tok = os.path.join(ROOT, "tokenizers", "llama2.tokenizer.json")
    vocab = len(json.load(open(tok, encoding="utf-8"))["model"]["vocab"])
    model = Llama(vocab, d=d, h=heads, kv=kv, layers=layers, ff=ff).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(0.05)
    export_decoder(model, layers, kv, d // heads, os.path.join(folder, "model.onnx"))
    shutil.copy(tok, os.path.join(folder, "tokenizer.json"))
    print(f"wrote {folder}")


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        write_bench_decoder(sys.argv[2])
        sys.exit(0)
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    refs = write_tokenizers()
    write_torch_models(refs)
    write_fused()
    write_fused(hide_last_sum=True, folder="fused_nosum")
    write_noblocks()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print(f"wrote {ROOT} ({total / 1e6:.2f} MB)")
