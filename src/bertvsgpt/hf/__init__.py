"""Hugging Face interoperability: export our BERT and GPT in transformers' layout, import published
checkpoints (BERT family, GPT-2 family) as models of the comparison. transformers itself is not
imported here (it is a dev dependency, used by the parity tests)."""

from .mapping import ConversionError

__all__ = ["ConversionError", "convert_checkpoint", "export_model", "import_checkpoint"]


def __getattr__(name: str):
    if name == "export_model":
        from .export import export_model

        return export_model
    if name in ("convert_checkpoint", "import_checkpoint"):
        from . import imports

        return getattr(imports, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
