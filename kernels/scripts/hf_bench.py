"""HF transformers bf16 decode on this GPU, on random weights of the bench-decode shapes (side-by-side baseline).

usage: python3 hf_bench.py FIXTURE_MODEL_DIR NEW_TOKENS BATCHES SHAPE... > hf-bench.json
"""
import json
import sys
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM

SHAPES = {
    "glm-edge-1.5b": dict(vocab_size=59264, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                          num_attention_heads=16, num_key_value_heads=4, head_dim=128),
    "glm-4-9b": dict(vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=40,
                     num_attention_heads=32, num_key_value_heads=2, head_dim=128),
}


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.time()
    fn()
    torch.cuda.synchronize()
    return time.time() - t0


def bench(base_dir, shape, new_tokens, batches):
    cfg = AutoConfig.from_pretrained(base_dir)   # a glm config: interleaved partial rotary, attention bias
    for k, v in SHAPES[shape].items():
        setattr(cfg, k, v)
    cfg.max_position_embeddings = 4096
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval()
    out = {"shape": shape, "device": torch.cuda.get_device_name(), "transformers_bf16": []}
    with torch.no_grad():
        long = torch.randint(0, cfg.vocab_size, (1, 2048), device="cuda")
        model(long)
        out["prefill_2048_tok_per_s"] = round(2048 / timed(lambda: model(long)), 1)
        for b in batches:
            ids = torch.randint(0, cfg.vocab_size, (b, 128), device="cuda")
            gen = lambda n: model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                                           min_new_tokens=n, do_sample=False, pad_token_id=0)
            gen(2)
            t1 = timed(lambda: gen(1))
            tn = timed(lambda: gen(new_tokens))
            steps = (new_tokens - 1) / (tn - t1)
            out["transformers_bf16"].append({"batch": b, "decode_steps_per_s": round(steps, 2),
                                             "decode_tok_per_s": round(steps * b, 1)})
    del model
    torch.cuda.empty_cache()
    return out


if __name__ == "__main__":
    base, n, batches = sys.argv[1], int(sys.argv[2]), [int(b) for b in sys.argv[3].split(",")]
    print(json.dumps([bench(base, s, n, batches) for s in sys.argv[4:]], indent=2))
