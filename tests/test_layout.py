"""The package's folders: one concept each, and the model layers never import the layers above."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "espnet2_slap"
MODEL_LAYERS = ("layers", "audio", "text", "decoder", "losses", "ssl")
ABOVE = ("data", "train", "tasks", "inference", "bin")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # also imports inside functions
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_model_layers_import_nothing_above_them():
    offending = []
    for folder in MODEL_LAYERS:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for module in imported_modules(path):
                parts = module.split(".")
                if parts[0] == "espnet2_slap" and len(parts) > 1 and parts[1] in ABOVE:
                    offending.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not offending, "\n".join(offending)


def test_every_folder_says_what_it_holds():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(PACKAGE)} has no docstring naming its concept"


def test_losses_hold_the_contrastive_losses_only():
    names = {p.stem for p in (PACKAGE / "losses").glob("*.py")} - {"__init__"}
    assert names == {"abs_contrastive_loss", "infonce", "sigmoid", "logit_scale"}
    ssl = {p.stem for p in (PACKAGE / "ssl").glob("*.py")} - {"__init__"}
    assert {"objective", "head", "centering", "patch_loss", "ema_teacher", "token_masking"} <= ssl
