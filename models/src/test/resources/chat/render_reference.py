"""Renders the chat template cases with jinja2 configured as Hugging Face transformers does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson = json.dumps with
ensure_ascii=False, raise_exception) and writes expected.json for ChatTemplateReferenceTest.
Run from this directory: python3 render_reference.py  (jinja2 3.1.x)."""
import json

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class GenerationBlock(jinja2.ext.Extension):
    """transformers' AssistantTracker, minus the mask bookkeeping: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=[GenerationBlock, loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

weather = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "获取指定城市的当前天气 (current weather)",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "城市名称，例如：北京"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7.5},
            },
            "required": ["city"],
        },
    },
}

chat = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "你好，请介绍一下集群控制中心。"},
    {"role": "assistant", "content": "集群控制中心负责调度。"},
    {"role": "user", "content": "  Thanks!\n"},
]

cases = [
    ("glm-4-9b-chat plain", "glm-4-9b-chat.jinja", chat, True, {}),
    ("glm-4-9b-chat no generation prompt", "glm-4-9b-chat.jinja", chat[:3], False, {}),
    ("glm-4-9b-chat tools and metadata", "glm-4-9b-chat.jinja", [
        {"role": "system", "content": "", "tools": [weather, {"type": "python"}]},
        {"role": "user", "content": "北京天气怎么样？"},
        {"role": "assistant", "metadata": "get_weather", "content": "{\"city\": \"北京\"}"},
        {"role": "observation", "content": "{\"temperature\": 21.5}"},
    ], True, {}),
    ("glm-4.5 plain", "glm-4.5.jinja", chat, True, {}),
    ("glm-4.5 thinking off", "glm-4.5.jinja", chat, True, {"enable_thinking": False}),
    ("glm-4.5 reasoning and tools", "glm-4.5.jinja", [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "<think>\nNeed the tool.\n</think>\nLet me check.",
         "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "content": "{\"temperature\": 18}"},
        {"role": "tool", "content": "{\"humidity\": 0.6}"},
        {"role": "assistant", "content": "<think>warm enough</think>18 degrees."},
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
    ], True, {"tools": [weather]}),
    ("features", "features.jinja", chat, True, {"tool": weather}),
    ("features raise_exception", "features.jinja", chat, True, {"tool": weather, "raise_now": True}),
]

out = []
for name, template_file, messages, add_generation_prompt, variables in cases:
    with open(template_file, encoding="utf-8") as f:
        template = env.from_string(f.read())
    case = {"name": name, "template": template_file, "messages": messages,
            "add_generation_prompt": add_generation_prompt, "variables": variables}
    try:
        case["expected"] = template.render(messages=messages, add_generation_prompt=add_generation_prompt, **variables)
    except jinja2.exceptions.TemplateError as e:
        case["error"] = str(e)
    out.append(case)

with open("expected.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
