"""Reference side by side: HF transformers on this GPU (fp32) against the fixture's stored reference.

usage: python3 hf_parity.py FIXTURES_DIR MODEL... > hf-parity.json
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def check(fixtures, name):
    ref = json.load(open(f"{fixtures}/{name}.reference.json"))
    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(f"{fixtures}/{name}", dtype=torch.float32).cuda().eval()
    out = {"model": name, "device": torch.cuda.get_device_name(), "transformers_load_s": round(time.time() - t0, 2)}
    max_diff, greedy_ok = 0.0, True
    with torch.no_grad():
        for case in ref["cases"]:
            ids = torch.tensor([case["input_ids"]], device="cuda")
            res = model(ids, use_cache=True)
            last = res.logits[0, -1].float().cpu()
            max_diff = max(max_diff, (last - torch.tensor(case["last_logits"])).abs().max().item())
            past, nxt, got = res.past_key_values, int(last.argmax()), []
            for _ in range(len(case["greedy_ids"])):
                got.append(nxt)
                res = model(torch.tensor([[nxt]], device="cuda"), past_key_values=past, use_cache=True)
                past, nxt = res.past_key_values, int(res.logits[0, -1].argmax())
            greedy_ok &= got == case["greedy_ids"]
    out.update(last_logits_max_abs_diff=max_diff, greedy_exact=greedy_ok)
    return out


if __name__ == "__main__":
    print(json.dumps([check(sys.argv[1], m) for m in sys.argv[2:]], indent=2))
