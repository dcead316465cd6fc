"""Class prompts for zero-shot classification: one template, or an ensemble of templates.

A template holds ``{label}`` (``"the sound of {label}"``). With several templates (a prompt
ensemble, as CLIP/CLAP evaluations use), each class's prompts are embedded, the L2-normalised
text embeddings are averaged over the templates and the mean is normalised again. With one
template the class embedding is exactly that prompt's embedding.
"""

from typing import Callable, List, Sequence, Union

import numpy as np

Templates = Union[str, Sequence[str]]


def as_template_list(templates: Templates) -> List[str]:
    """``templates`` as a non-empty list; every entry must contain ``{label}``.

    Raises:
        ValueError: on an empty list or a template without ``{label}``.
    """
    listed = [templates] if isinstance(templates, str) else list(templates)
    if not listed:
        raise ValueError("give at least one prompt template")
    for template in listed:
        if not isinstance(template, str) or "{label}" not in template:
            raise ValueError(f"template must contain '{{label}}', got {template!r}")
    return listed


def class_text_embeddings(
    embed_text: Callable[[List[str]], np.ndarray], labels: Sequence[str], templates: Templates
) -> np.ndarray:
    """``(n_classes, D)`` L2-normalised class embeddings.

    Args:
        embed_text: maps ``N`` texts to ``(N, D)`` L2-normalised embeddings.
        labels: class labels as words, in class-index order.
        templates: one template or several (ensemble: mean over templates, renormalised).
    """
    listed = as_template_list(templates)
    labels = list(labels)
    prompts = [template.format(label=label) for template in listed for label in labels]
    embeddings = np.asarray(embed_text(prompts), dtype=np.float32)  # (T * C, D)
    if len(listed) == 1:
        return embeddings
    mean = embeddings.reshape(len(listed), len(labels), -1).mean(axis=0)  # (C, D)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True).clip(min=1e-12)
