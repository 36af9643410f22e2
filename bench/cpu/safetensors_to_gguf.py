#!/usr/bin/env python3
"""Write a glm4 (Glm4ForCausalLM) safetensors checkpoint as GGUF for llama.cpp, with the gguf-py of llama.cpp's own
source tree (put it on PYTHONPATH). Linear weights and the embedding in the chosen type (F32, BF16, Q8_0, Q4_0,
quantized by gguf-py's reference quantizers); norms and biases F32. The tokenizer is a placeholder of vocab_size
tokens: the benchmark feeds token ids, never text. Tensors stream one at a time (memory: one tensor).

usage: safetensors_to_gguf.py CHECKPOINT_DIR OUT.gguf F32|BF16|Q8_0|Q4_0
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        raw = data[start:end]
        if meta["dtype"] == "F32":
            arr = raw.view(np.float32)
        elif meta["dtype"] == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif meta["dtype"] == "F16":
            arr = raw.view(np.float16)
        else:
            raise SystemExit(f"{name}: dtype {meta['dtype']} not supported")
        out[name] = (arr, meta["shape"])
    return out


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    n, rest = parts[2], ".".join(parts[3:])
    table = {
        "input_layernorm.weight": "attn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.o_proj.weight": "attn_output.weight",
        "post_self_attn_layernorm.weight": "post_attention_norm.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
        "post_mlp_layernorm.weight": "post_ffw_norm.weight",
    }
    return f"blk.{n}.{table[rest]}"


def main():
    src, out, type_name = Path(sys.argv[1]), sys.argv[2], sys.argv[3].upper()
    qtype = getattr(gguf.GGMLQuantizationType, type_name)
    config = json.loads((src / "config.json").read_text())
    tensors = {}
    for f in sorted(src.glob("*.safetensors")):
        tensors.update(read_safetensors(f))
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    rope = config.get("rope_parameters", {})
    partial = rope.get("partial_rotary_factor", config.get("partial_rotary_factor", 0.5))
    theta = rope.get("rope_theta", config.get("rope_theta", 10000.0))

    w = gguf.GGUFWriter(out, "glm4")
    w.add_name("glm4-random")
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config["num_key_value_heads"])
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_dimension_count(int(head_dim * partial))
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_file_type({"F32": 0, "BF16": 32, "Q8_0": 7, "Q4_0": 2}[type_name])
    vocab = config["vocab_size"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list([f"<t{i}>" for i in range(vocab)])
    w.add_token_types([1] * vocab)
    w.add_token_merges(["<t 0>"])  # llama.cpp refuses a BPE vocabulary without merges
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)

    order = []
    for hf, (arr, shape) in tensors.items():
        name = gguf_name(hf)
        matrix = len(shape) == 2
        t = qtype if matrix else gguf.GGMLQuantizationType.F32
        nbytes = int(np.prod(gguf.quant_shape_to_byte_shape(shape, t))) if t not in (
            gguf.GGMLQuantizationType.F32,) else int(np.prod(shape)) * 4
        if t == gguf.GGMLQuantizationType.BF16:
            nbytes = int(np.prod(shape)) * 2
        w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=t)
        order.append((name, arr, shape, t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for name, arr, shape, t in order:
        data = np.asarray(arr, dtype=np.float32).reshape(shape)
        if t == gguf.GGMLQuantizationType.F32:
            w.write_tensor_data(np.ascontiguousarray(data))
        else:
            rows = []
            step = max(1, (1 << 24) // shape[-1])  # quantize ~16M weights at a time
            for r in range(0, shape[0], step):
                rows.append(gguf.quants.quantize(data[r:r + step], t))
            w.write_tensor_data(np.concatenate(rows, axis=0))
    w.close()
    print(f"wrote {out} ({type_name})")


if __name__ == "__main__":
    main()
