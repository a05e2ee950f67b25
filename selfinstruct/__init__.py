"""Grow an instruction-tuning dataset from seed tasks (Self-Instruct / Alpaca) against any OpenAI-compatible LLM.

The library's calls and their option types are here (`selfinstruct.api`); they are imported on first use, so
that `import selfinstruct` stays cheap and the command line pays only for the command it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from selfinstruct.version import __version__

if TYPE_CHECKING:
    from selfinstruct.api import (
        audit_pool,
        compute_stats,
        decontaminate,
        estimate,
        estimate_audit,
        export_pool,
        filter_file,
        generate,
        method_options,
        prefer_answers,
        respond_pool,
        validate_seeds,
    )
    from selfinstruct.audit.settings import AuditOptions
    from selfinstruct.engine.options import EngineOptions
    from selfinstruct.errors import InputError, SelfInstructError
    from selfinstruct.methods.options import MethodOption
    from selfinstruct.pipeline.decontaminate import DecontaminateSettings
    from selfinstruct.pipeline.filter_settings import FilterSettings
    from selfinstruct.pipeline.prefer.settings import PreferOptions
    from selfinstruct.pipeline.respond.settings import RespondOptions
    from selfinstruct.pipeline.settings import GenerateOptions

_LAZY = {
    **dict.fromkeys(
        (
            "generate",
            "estimate",
            "method_options",
            "audit_pool",
            "estimate_audit",
            "filter_file",
            "compute_stats",
            "decontaminate",
            "export_pool",
            "respond_pool",
            "prefer_answers",
            "validate_seeds",
        ),
        "selfinstruct.api",
    ),
    "GenerateOptions": "selfinstruct.pipeline.settings",
    "AuditOptions": "selfinstruct.audit.settings",
    "RespondOptions": "selfinstruct.pipeline.respond.settings",
    "PreferOptions": "selfinstruct.pipeline.prefer.settings",
    "EngineOptions": "selfinstruct.engine.options",
    "FilterSettings": "selfinstruct.pipeline.filter_settings",
    "DecontaminateSettings": "selfinstruct.pipeline.decontaminate",
    "MethodOption": "selfinstruct.methods.options",
    "InputError": "selfinstruct.errors",
    "SelfInstructError": "selfinstruct.errors",
}
__all__ = [
    "AuditOptions",
    "DecontaminateSettings",
    "EngineOptions",
    "FilterSettings",
    "GenerateOptions",
    "InputError",
    "MethodOption",
    "PreferOptions",
    "RespondOptions",
    "SelfInstructError",
    "__version__",
    "audit_pool",
    "compute_stats",
    "decontaminate",
    "estimate",
    "estimate_audit",
    "export_pool",
    "filter_file",
    "generate",
    "method_options",
    "prefer_answers",
    "respond_pool",
    "validate_seeds",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'selfinstruct' has no attribute {name!r}")
