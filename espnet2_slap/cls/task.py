"""SLAPCLSTask: ESPnet's ``CLSTask`` with the SLAP encoder, packed batches and SLAP init.

Everything of the classification model is ESPnet's (``CLSTask.build_model``,
``ESPnetClassificationModel``: frontend, SpecAugment, normalisation, ``LinearDecoder``,
BCE / cross-entropy, mixup, accuracy). This task adds:

- ``--encoder slap``: :class:`~espnet2_slap.cls.encoder.SLAPClsEncoder` among ESPnet's
  encoder choices (beats, transformer, conformer);
- ``--slap_init``: architecture, features and weights (student or EMA teacher) from a SLAP
  model (experiment dir, ``.pth``, packed zip or model-zoo tag);
- ``--layer_decay``: layer-wise learning-rate decay for fine-tuning, kept under every
  scheduler (each layer's factor is applied to whatever lr the scheduler sets);
- ``--iterator_type task`` (default): token-budget packed batches, with
  ``--balanced_sampling`` by inverse label frequency;
- ``--time_roll``: random circular time shift of training waveforms;
- the run's planned optimizer steps as the scheduler's length (as in SLAPTask).

``CLSTask.build_model`` looks classes up in ESPnet's module-level choice lists; this task
makes its additions (the SLAP encoder, the per-clip frontend and SpecAugment) visible there
only for the duration of its own calls (see :func:`slap_encoders_registered`), so ESPnet's
``build_model`` and ``cls_inference`` run as they are and ESPnet's task is left unchanged.
"""

import argparse
import contextlib
import contextvars
import copy
import logging
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.tasks import cls as espnet_cls
from espnet2.tasks.abs_task import IteratorOptions, optim_classes
from espnet2.tasks.cls import CLSTask
from espnet2.train.class_choices import ClassChoices
from espnet2.utils.types import float_or_none, int_or_none, str2bool, str_or_none
from typeguard import typechecked

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.cls.augment import RandomTimeRoll
from espnet2_slap.cls.encoder import SLAPClsEncoder
from espnet2_slap.cls.per_clip import PerClipFrontend, PerClipSpecAug
from espnet2_slap.cls.sampling import (
    BalancedPackingSampler,
    inverse_frequency_weights,
    read_utt2labels,
)
from espnet2_slap.cls.slap_init import (
    WEIGHT_SOURCES,
    encoder_conf_from_slap,
    load_slap_weights,
    read_yaml,
)
from espnet2_slap.data.packing_iter_factory import build_packing_iter_factory
from espnet2_slap.tasks.slap import (
    TASK_OPTION_RULES,
    SLAPTask,
    check_task_options,
    clip_token_cost_fn,
)
from espnet2_slap.train.optimizer_steps import count_optimizer_steps, once, plan_schedulers
from espnet2_slap.train.trainer import PlannedScheduleTrainer
from espnet2_slap.utils.model_source import resolve_slap_model

SLAP_ENCODERS = dict(slap=SLAPClsEncoder)
# Per-clip variants of ESPnet's DefaultFrontend and SpecAug (the SLAP model's features).
PER_CLIP_FRONTENDS = dict(default_per_clip=PerClipFrontend)
PER_CLIP_SPECAUGS = dict(specaug_per_clip=PerClipSpecAug)
# ESPnet choice list -> what this task adds to it
ADDED_CHOICES = {
    "frontend": PER_CLIP_FRONTENDS,
    "specaug": PER_CLIP_SPECAUGS,
    "encoder": SLAP_ENCODERS,
}
ESPNET_CHOICES = {
    "frontend": espnet_cls.frontend_choices,
    "specaug": espnet_cls.specaug_choices,
    "encoder": espnet_cls.encoder_choices,
}


def _extended(name: str, default: Optional[str]) -> ClassChoices:
    espnet_choices = ESPNET_CHOICES[name]
    return ClassChoices(
        name,
        classes=dict(espnet_choices.classes, **ADDED_CHOICES[name]),
        type_check=espnet_choices.base_type,
        default=default,
        optional=espnet_choices.optional,
    )


frontend_choices = _extended("frontend", "default_per_clip")
specaug_choices = _extended("specaug", None)
encoder_choices = _extended("encoder", "slap")

# True while a model is rebuilt from a config.yaml + weights: no SLAP initialisation then.
_BUILDING_FROM_FILE = contextvars.ContextVar("slap_cls_building_from_file", default=False)


@contextlib.contextmanager
def slap_encoders_registered():
    """Let ESPnet's ``CLSTask.build_model`` find this task's classes during the ``with`` block.

    The SLAP encoder and the per-clip frontend / SpecAug are added to ESPnet's
    ``espnet2.tasks.cls`` choice lists and removed on exit, so ESPnet's own task is unchanged
    outside the plugin's calls.
    """
    added = []
    for name, classes in ADDED_CHOICES.items():
        registry = ESPNET_CHOICES[name].classes
        for key, value in classes.items():
            if key not in registry:
                registry[key] = value
                added.append((registry, key))
    try:
        yield
    finally:
        for registry, key in added:
            registry.pop(key, None)


class SLAPCLSTask(CLSTask):
    """Audio classification / tagging (ESPnet ``CLSTask``) with the SLAP audio encoder."""

    class_choices_list = [
        {"frontend": frontend_choices, "specaug": specaug_choices, "encoder": encoder_choices}.get(
            choices.name, choices
        )
        for choices in CLSTask.class_choices_list
    ]

    # ESPnet's Trainer, resuming on this run's planned schedule length
    trainer = PlannedScheduleTrainer

    option_rules = dict(
        {k: TASK_OPTION_RULES[k] for k in ("batch_tokens", "valid_batch_tokens")},
        layer_decay=("fraction", None, True),
        balanced_num_samples=("positive integer", None, True),
    )

    @classmethod
    def check_required_command_args(cls, args: argparse.Namespace):
        """ESPnet's check, then this task's option values (named by their config key)."""
        super().check_required_command_args(args)
        problems = check_task_options(args, cls.option_rules)
        if problems:
            cls.get_parser().error("; ".join(problems))

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        super().add_task_arguments(parser)
        group = parser.add_argument_group(description="SLAP encoder related")
        group.add_argument(
            "--slap_init",
            type=str_or_none,
            default=None,
            help="SLAP model to initialise the encoder from: experiment dir, .pth file, "
            "packed .zip or model-zoo tag. Its encoder architecture (and, with "
            "--slap_init_features, frontend and normalisation) replace the config's",
        )
        group.add_argument(
            "--slap_init_weights",
            type=str,
            default="student",
            choices=list(WEIGHT_SOURCES),
            help="Which encoder weights --slap_init loads: the student, the EMA teacher, or "
            "none (same architecture, random initialisation)",
        )
        group.add_argument(
            "--slap_init_features",
            type=str2bool,
            default=True,
            help="Take frontend and feature normalisation (with its statistics) from the "
            "--slap_init model, so the encoder sees the features it was trained on",
        )
        group.add_argument(
            "--layer_decay",
            type=float_or_none,
            default=None,
            help="Layer-wise lr decay of the SLAP encoder: block i of L gets "
            "lr * layer_decay ** (L + 1 - i); None: one lr for all",
        )
        group.add_argument(
            "--batch_tokens",
            type=int,
            default=16384,
            help="Packing sampler budget (--iterator_type task): audio patch tokens per "
            "training batch (frames for non-SLAP encoders)",
        )
        group.add_argument(
            "--valid_batch_tokens",
            type=int_or_none,
            default=None,
            help="Packing sampler budget for validation (default: --batch_tokens)",
        )
        group.add_argument(
            "--balanced_sampling",
            type=str2bool,
            default=False,
            help="Draw training clips with replacement by inverse label frequency each "
            "epoch (AudioSet protocol; needs --iterator_type task)",
        )
        group.add_argument(
            "--balanced_num_samples",
            type=int_or_none,
            default=None,
            help="Clips drawn per epoch with --balanced_sampling (default: training set size)",
        )
        group.add_argument(
            "--time_roll",
            type=str2bool,
            default=False,
            help="Roll each training waveform circularly by a random shift",
        )
        parser.set_defaults(iterator_type="task")

    # ------------------------------------------------------------------ model
    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> espnet_cls.ESPnetClassificationModel:
        """ESPnet's ``CLSTask.build_model``, preceded and followed by the SLAP init."""
        model_file = None
        if getattr(args, "slap_init", None) is not None and not _BUILDING_FROM_FILE.get():
            model_file = _configure_from_slap(args)
        with slap_encoders_registered():
            model = super().build_model(args)
        if model_file is not None and args.slap_init_weights != "none":
            load_slap_weights(model, model_file, args.slap_init_weights)
        elif model_file is not None:
            logging.info("SLAP init: architecture only, every weight newly initialised")
        return model

    @classmethod
    def build_model_from_file(cls, *args, **kwargs):
        """Rebuild from ``config.yaml`` (+ weights); the SLAP model is not needed again."""
        token = _BUILDING_FROM_FILE.set(True)
        try:
            return super().build_model_from_file(*args, **kwargs)
        finally:
            _BUILDING_FROM_FILE.reset(token)

    # ------------------------------------------------------------------ optimizer
    @classmethod
    def build_optimizers(
        cls, args: argparse.Namespace, model: torch.nn.Module
    ) -> List[torch.optim.Optimizer]:
        """ESPnet's optimizer, or with ``--layer_decay`` one parameter group per encoder layer.

        Frozen parameters (linear probe) are left out of the groups. The scheduler's length
        becomes the run's planned optimizer steps, as in :meth:`SLAPTask.build_optimizers`.
        """
        if args.layer_decay is None:
            optimizers = super().build_optimizers(args, model)
        else:
            optim_class = optim_classes.get(args.optim)
            if optim_class is None:
                raise ValueError(f"--optim must be one of {list(optim_classes)}: {args.optim}")
            groups = layer_decay_groups(model, args.layer_decay, args.optim_conf.get("lr", 1e-3),
                                        args.exclude_weight_decay)
            optimizers = [optim_class(groups, **args.optim_conf)]
            apply_lr_scales(optimizers[0])
        planned = once(lambda: cls.planned_optimizer_steps(args))
        plan_schedulers(args, planned, cls.num_optimizers)
        if not getattr(args, "collect_stats", False) and (
            args.train_shape_file or args.num_iters_per_epoch
        ):
            planned()  # counted (and logged) at start
        return optimizers

    @classmethod
    def planned_optimizer_steps(cls, args: argparse.Namespace) -> int:
        """The optimizer steps this run takes (with balanced sampling's draws if on)."""
        wrap = None
        if args.iterator_type == "task" and args.balanced_sampling:
            wrap = partial_balanced_sampler(args)
        return count_optimizer_steps(args, cls.tokens_per_sample_fn(args), wrap_sampler=wrap)

    # ------------------------------------------------------------------ data
    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.array]], Dict[str, np.ndarray]]]:
        preprocess = super().build_preprocess_fn(args, train)
        if train and getattr(args, "time_roll", False):
            return RandomTimeRoll(preprocess)
        return preprocess

    @classmethod
    @typechecked
    def build_task_iter_factory(
        cls, args: argparse.Namespace, iter_options: IteratorOptions, mode: str
    ) -> AbsIterFactory:
        """Token-budget packed batches (balanced draw in training with --balanced_sampling)."""
        if mode == "plot_att":
            return cls.build_sequence_iter_factory(args, iter_options, mode)
        factory = build_packing_iter_factory(
            args,
            iter_options,
            mode,
            tokens_fn=cls.tokens_per_sample_fn(args),
            build_dataset=lambda keys: cls.build_dataset(args, iter_options, keys),
        )
        if mode == "train" and args.balanced_sampling:
            factory.sampler = partial_balanced_sampler(args)(factory.sampler)
            logging.info(f"[train] balanced sampling by inverse label frequency: {factory.sampler}")
        return factory

    @classmethod
    def tokens_per_sample_fn(cls, args: argparse.Namespace) -> Callable[[int], int]:
        """Waveform samples -> encoder tokens (SLAPTask's rule, for the chosen encoder)."""
        slap = args.encoder in SLAP_ENCODERS
        return clip_token_cost_fn(
            frontend_choices.get_class(args.frontend)(**args.frontend_conf),
            SLAPAudioEncoder if slap else AbsAudioEncoder,
            (args.encoder_conf.get("encoder_conf") or {}) if slap else {},
        )


def partial_balanced_sampler(args: argparse.Namespace) -> Callable:
    """Packing sampler -> the balanced sampler ``--balanced_sampling`` trains with."""
    label_file = _data_file(args.train_data_path_and_name_and_type, "label")
    weights = inverse_frequency_weights(read_utt2labels(label_file))
    return lambda sampler: BalancedPackingSampler(sampler, weights, args.balanced_num_samples)


def layer_decay_groups(
    model: torch.nn.Module, decay: float, lr: float, exclude_weight_decay: bool = False
) -> List[Dict]:
    """Parameter groups with ``lr_scale = decay ** (depth - layer)`` for the encoder's layers.

    Every group starts at ``lr`` (what a scheduler sees and sets); :func:`apply_lr_scales`
    makes each step use ``lr * lr_scale``. Parameters outside the encoder (the decoder) get
    scale 1; with ``exclude_weight_decay``, 1-D parameters (norm gains, biases) get no
    weight decay.
    """
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, SLAPClsEncoder):
        raise ValueError("--layer_decay needs --encoder slap")
    depth = encoder.num_lr_layers
    groups: Dict[tuple, Dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        layer = encoder.lr_layer_id(name[len("encoder."):]) if name.startswith("encoder.") else depth
        no_decay = exclude_weight_decay and param.ndim < 2
        key = (layer, no_decay)
        if key not in groups:
            groups[key] = {"params": [], "lr": lr, "lr_scale": decay ** (depth - layer),
                           "layer": layer}
            if no_decay:
                groups[key]["weight_decay"] = 0.0
        groups[key]["params"].append(param)
    return [groups[key] for key in sorted(groups)]


def apply_lr_scales(optimizer: torch.optim.Optimizer) -> None:
    """Make every step of ``optimizer`` use ``group["lr"] * group["lr_scale"]``.

    ESPnet's schedulers set each group's ``lr`` without knowing the layer-wise decay, some
    absolutely (``cosineannealingwarmuprestarts`` writes one value into every group), so the
    scale is applied around the step instead: a pre-hook multiplies, a post-hook puts the
    scheduler's value back. The decay thus holds under every scheduler; the logged
    ``optim0_lr*`` values are the scheduler's (unscaled) ones.
    """
    unscaled: List[float] = []

    def scale(opt, args, kwargs) -> None:
        unscaled[:] = [group["lr"] for group in opt.param_groups]
        for group in opt.param_groups:
            group["lr"] = group["lr"] * group.get("lr_scale", 1.0)

    def unscale(opt, args, kwargs) -> None:
        for group, lr in zip(opt.param_groups, unscaled):
            group["lr"] = lr

    optimizer.register_step_pre_hook(scale)
    optimizer.register_step_post_hook(unscale)


def _configure_from_slap(args: argparse.Namespace) -> Path:
    """Write the SLAP model's encoder (and features) into ``args``; returns its weights file."""
    if args.encoder not in SLAP_ENCODERS:
        raise ValueError(f"--slap_init needs --encoder slap, got --encoder {args.encoder}")
    config_file, model_file = resolve_slap_model(args.slap_init, option="--slap_init")
    slap_config = read_yaml(config_file)
    args.encoder_conf = encoder_conf_from_slap(slap_config, args.encoder_conf)
    logging.info(f"SLAP init: {args.slap_init} -> {config_file}, {model_file}")
    if args.slap_init_features:
        for key in ("frontend", "frontend_conf", "normalize", "normalize_conf"):
            setattr(args, key, copy.deepcopy(slap_config.get(key) or ({} if key.endswith("conf") else None)))
        if args.frontend == "default":  # the SLAP model frames clip by clip
            args.frontend = "default_per_clip"
        stats_file = (args.normalize_conf or {}).get("stats_file")
        if stats_file is not None:
            args.normalize_conf["stats_file"] = str(_locate(stats_file, config_file))
        logging.info(
            f"SLAP init: frontend {args.frontend} {args.frontend_conf}, normalize "
            f"{args.normalize} {args.normalize_conf} from the SLAP model"
        )
    return model_file


def _locate(path: str, config_file: Path) -> Path:
    """A path of a SLAP config: as given, or relative to its recipe (``<recipe>/exp/<x>/config.yaml``)."""
    candidates = [Path(path), config_file.resolve().parent.parent.parent / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    raise FileNotFoundError(f"{config_file}: refers to {path}, not found (tried {[str(c) for c in candidates]})")


def _data_file(triples: List, name: str) -> str:
    for path, data_name, _ in triples:
        if data_name == name:
            return path
    raise ValueError(f"--balanced_sampling needs a '{name}' entry in --train_data_path_and_name_and_type")
