"""prompt-completion: {"prompt", "completion"}, as in the paper's GPT-3 fine-tuning.

The instruction and input are joined by one of several templates picked at random per instance (from --seed,
in pool order), and the completion starts with a space. No end-of-text marker is appended unless --eos asks
for one: trainers add their tokenizer's own EOS.
"""

from __future__ import annotations

from selfinstruct.export.format import ExportFormat, Record, RecordContext
from selfinstruct.tasks import Instance, Task

# (template with an input, template without) pairs; the prompt ends where the model starts answering.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("{instruction}\n\nInput: {input}\n\nOutput:", "{instruction}\n\nOutput:"),
        ("Task: {instruction}\nInput: {input}\nOutput:", "Task: {instruction}\nOutput:"),
        ("{instruction}\n\n{input}\n\nAnswer:", "{instruction}\n\nAnswer:"),
        ("Instruction: {instruction}\n\n{input}\n\nResponse:", "Instruction: {instruction}\n\nResponse:"),
    ),
    "zh": (
        ("{instruction}\n\n输入：{input}\n\n输出：", "{instruction}\n\n输出："),
        ("任务：{instruction}\n输入：{input}\n输出：", "任务：{instruction}\n输出："),
        ("{instruction}\n\n{input}\n\n回答：", "{instruction}\n\n回答："),
        ("指令：{instruction}\n\n{input}\n\n回复：", "指令：{instruction}\n\n回复："),
    ),
}


def _record(task: Task, inst: Instance, ctx: RecordContext) -> Record:
    zh = ctx.language == "zh"
    with_input, without = ctx.rng.choice(TEMPLATES["zh" if zh else "en"])
    template = with_input if inst.input.strip() else without
    text = template.format(instruction=task.instruction, input=inst.input.strip())
    return {"prompt": text, "completion": f"{'' if zh else ' '}{inst.output}{ctx.settings.eos}"}


FORMAT = ExportFormat(
    "prompt-completion",
    "{prompt, completion}, as the paper's GPT-3 fine-tuning (templates picked per instance from --seed)",
    _record,
    takes_eos=True,
)
