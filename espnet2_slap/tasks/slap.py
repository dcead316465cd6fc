"""SLAPTask: language-audio pretraining as an ESPnet2 task.

Every swappable part is a ``ClassChoices`` entry, so a config YAML selects it by name:
``frontend``, ``specaug``, ``normalize``, ``audio_encoder``, ``text_encoder``,
``contrastive_loss``, ``ssl``, ``caption_decoder`` and ``model``. Data names: ``speech``
(sound) and ``text`` (the caption, tokenized in the data loader by the text encoder's own
tokenizer and, when ``--token_list`` is given, also by the caption decoder's token list).

Batches come from a token-budget packing sampler (``--iterator_type task``, the default)
whose budget ``--batch_tokens`` counts audio patch tokens; ESPnet's own iterators remain
available with ``--iterator_type sequence``.
"""

import argparse
import dataclasses
import logging
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.asr.specaug.specaug import SpecAug
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.layers.global_mvn import GlobalMVN
from espnet2.layers.utterance_mvn import UtteranceMVN
from espnet2.tasks.abs_task import AbsTask, IteratorOptions, optim_classes
from espnet2.train.abs_espnet_model import AbsESPnetModel
from espnet2.train.class_choices import ClassChoices
from espnet2.utils.types import float_or_none, int_or_none, str2bool, str_or_none
from typeguard import typechecked

from espnet2_slap.audio.abs_audio_encoder import AbsAudioEncoder
from espnet2_slap.audio.espnet_encoder_adapter import ESPnetEncoderAdapter
from espnet2_slap.audio.features import frontend_sample_rate
from espnet2_slap.audio.slap_encoder import SLAPAudioEncoder
from espnet2_slap.data.packing_iter_factory import build_packing_iter_factory
from espnet2_slap.data.preprocessor import DataPassIterFactory, PerLoadDraws, SLAPPreprocessor
from espnet2_slap.data.sharded_iter_factory import build_sharded_packing_iter_factory
from espnet2_slap.decoder.abs_caption_decoder import AbsCaptionDecoder
from espnet2_slap.decoder.transformer_caption_decoder import TransformerCaptionDecoder
from espnet2_slap.espnet_model import ESPnetSLAPModel
from espnet2_slap.losses.abs_contrastive_loss import AbsContrastiveLoss
from espnet2_slap.losses.infonce import InfoNCELoss
from espnet2_slap.losses.sigmoid import SigmoidLoss
from espnet2_slap.ssl.ema_teacher import after_each_real_step, attach_ema_teachers
from espnet2_slap.ssl.objective import MaskedDistillationObjective
from espnet2_slap.text.abs_text_encoder import AbsTextEncoder
from espnet2_slap.text.hf_text_encoder import HuggingFaceTextEncoder
from espnet2_slap.train.optimizer_steps import count_optimizer_steps, once, plan_schedulers
from espnet2_slap.train.trainer import SLAPTrainer

frontend_choices = ClassChoices(
    name="frontend",
    classes=dict(default=DefaultFrontend),
    type_check=AbsFrontend,
    default="default",
)
specaug_choices = ClassChoices(
    name="specaug",
    classes=dict(specaug=SpecAug),
    type_check=AbsSpecAug,
    default=None,
    optional=True,
)
normalize_choices = ClassChoices(
    name="normalize",
    classes=dict(global_mvn=GlobalMVN, utterance_mvn=UtteranceMVN),
    type_check=AbsNormalize,
    default="utterance_mvn",
    optional=True,
)
audio_encoder_choices = ClassChoices(
    name="audio_encoder",
    classes=dict(slap=SLAPAudioEncoder, espnet=ESPnetEncoderAdapter),
    type_check=AbsAudioEncoder,
    default="slap",
)
text_encoder_choices = ClassChoices(
    name="text_encoder",
    classes=dict(huggingface=HuggingFaceTextEncoder),
    type_check=AbsTextEncoder,
    default="huggingface",
)
contrastive_loss_choices = ClassChoices(
    name="contrastive_loss",
    classes=dict(infonce=InfoNCELoss, sigmoid=SigmoidLoss),
    type_check=AbsContrastiveLoss,
    default="infonce",
)
ssl_choices = ClassChoices(
    name="ssl",
    classes=dict(masked_distillation=MaskedDistillationObjective),
    type_check=MaskedDistillationObjective,
    default=None,
    optional=True,
)
caption_decoder_choices = ClassChoices(
    name="caption_decoder",
    classes=dict(transformer=TransformerCaptionDecoder),
    type_check=AbsCaptionDecoder,
    default=None,
    optional=True,
)
model_choices = ClassChoices(
    name="model",
    classes=dict(espnet=ESPnetSLAPModel),
    type_check=AbsESPnetModel,
    default="espnet",
)


# The task's own options whose values a config can set past argparse's type and choices
# checks (ESPnet applies a YAML config as parser defaults): option -> (kind, bound, None ok)
TASK_OPTION_RULES = {
    "batch_tokens": ("positive integer", None, False),
    "valid_batch_tokens": ("positive integer", None, True),
    "crop_seconds": ("positive number", None, True),
    "ema_total_steps": ("positive integer", None, True),
    "token_type": ("choice", ("bpe", "char", "word"), False),
}


def check_task_options(args: argparse.Namespace, rules: Dict[str, tuple]) -> List[str]:
    """Problems with the values of ``rules``' options, each naming its config key."""
    problems = []
    for key, (kind, choices, none_ok) in rules.items():
        value = getattr(args, key, None)
        if value is None and none_ok:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "positive integer":
            ok = number and isinstance(value, int) and value >= 1
        elif kind == "positive number":
            ok = number and value > 0
        elif kind == "fraction":  # (0, 1]
            ok = number and 0 < value <= 1
        else:
            ok = value in choices
        if not ok:
            if kind == "choice":
                wanted = f"one of {list(choices)}"
            else:
                wanted = "a number in (0, 1]" if kind == "fraction" else f"a {kind}"
            wanted += " or none" if none_ok else ""
            problems.append(f"{key} (config key, or --{key}) must be {wanted}, got {value!r}")
    return problems


class SLAPTask(AbsTask):
    """Scalable Language-Audio Pretraining (contrastive + SSL + captioning)."""

    num_optimizers: int = 1

    class_choices_list = [
        frontend_choices,
        specaug_choices,
        normalize_choices,
        audio_encoder_choices,
        text_encoder_choices,
        contrastive_loss_choices,
        ssl_choices,
        caption_decoder_choices,
        model_choices,
    ]

    # ESPnet's Trainer, with a fresh EMA schedule unless resumed and no rank-0-only forward
    trainer = SLAPTrainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        group.add_argument(
            "--token_list",
            type=str_or_none,
            default=None,
            help="Token list of the caption decoder (one token per line); needed with "
            "--caption_decoder",
        )
        group.add_argument(
            "--token_type",
            type=str,
            default="bpe",
            choices=["bpe", "char", "word"],
            help="Caption decoder tokenization",
        )
        group.add_argument(
            "--bpemodel", type=str_or_none, default=None, help="sentencepiece model (bpe)"
        )
        group.add_argument(
            "--batch_tokens",
            type=int,
            default=16384,
            help="Packing sampler budget: audio patch tokens per training batch",
        )
        group.add_argument(
            "--valid_batch_tokens",
            type=int_or_none,
            default=None,
            help="Packing sampler budget for validation (default: --batch_tokens)",
        )
        group.add_argument(
            "--use_preprocessor",
            type=str2bool,
            default=True,
            help="Tokenize captions and down-mix audio in the data loader",
        )
        group.add_argument(
            "--crop_seconds",
            type=float_or_none,
            default=30.0,
            help="Clips longer than this are cut to a window of this length when loaded: a "
            "random window in training (drawn from --seed, the epoch and the utterance id), the "
            "first one in validation; none keeps whole clips",
        )
        group.add_argument(
            "--ema_total_steps",
            type=int_or_none,
            default=None,
            help="Steps of the EMA momentum cosine schedule (default: the run's planned "
            "optimizer steps, counted from the training batches, epochs, --accum_grad and the "
            "world size, the count that also sets the learning-rate schedule's length)",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)
        # Attention plots would run the model (and its collectives) on rank 0 alone; the
        # trainer skips them anyway (train/trainer.py), this only avoids building their data.
        parser.set_defaults(iterator_type="task", num_att_plot=0)

    @classmethod
    def check_required_command_args(cls, args: argparse.Namespace):
        """ESPnet's check after parsing, then the task's own option values: a config value
        that argparse never saw (``batch_tokens: -6144``) fails here, named, before any
        model is built."""
        super().check_required_command_args(args)
        problems = check_task_options(args, TASK_OPTION_RULES)
        if problems:
            cls.get_parser().error("; ".join(problems))

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]],
        Tuple[List[str], Dict[str, torch.Tensor]],
    ]:
        # Imported here: espnet2.train.collate_fn pulls in ESPnet's preprocessor module and,
        # through it, g2p_en's NLTK downloads; --help, inference and scoring never need it.
        from espnet2.train.collate_fn import CommonCollateFn

        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.array]], Dict[str, np.ndarray]]]:
        if not args.use_preprocessor:
            return None
        text_encoder_class = text_encoder_choices.get_class(args.text_encoder)
        max_caption_tokens = None
        if args.caption_decoder is not None:
            decoder_class = caption_decoder_choices.get_class(args.caption_decoder)
            max_caption_tokens = decoder_class.max_caption_tokens(args.caption_decoder_conf)
        return SLAPPreprocessor(
            train=train,
            text_tokenizer=text_encoder_class.build_tokenizer(**args.text_encoder_conf),
            token_list=args.token_list if args.caption_decoder is not None else None,
            token_type=args.token_type,
            bpemodel=args.bpemodel,
            max_caption_tokens=max_caption_tokens,
            crop_seconds=getattr(args, "crop_seconds", None),
            fs=_speech_rate(args),
            speech_is_features=speech_is_features(args),
            seed=args.seed,
        )

    @classmethod
    def required_data_names(
        cls, train: bool = True, inference: bool = False
    ) -> Tuple[str, ...]:
        return () if inference else ("speech", "text")

    @classmethod
    def optional_data_names(
        cls, train: bool = True, inference: bool = False
    ) -> Tuple[str, ...]:
        # captions: a clip's captions as a JSON list (utt2captions); one is drawn per load
        return ("speech", "text") if inference else ("captions",)

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetSLAPModel:
        token_list = _read_token_list(args)

        frontend = frontend_choices.get_class(args.frontend)(**args.frontend_conf)
        specaug = (
            specaug_choices.get_class(args.specaug)(**args.specaug_conf)
            if args.specaug is not None
            else None
        )
        # Collect-stats computes the statistics GlobalMVN reads, so it runs without it.
        normalize = None
        if args.normalize is not None and not getattr(args, "collect_stats", False):
            normalize = normalize_choices.get_class(args.normalize)(**args.normalize_conf)
        audio_encoder = audio_encoder_choices.get_class(args.audio_encoder)(
            input_size=frontend.output_size(), **args.audio_encoder_conf
        )
        text_encoder = text_encoder_choices.get_class(args.text_encoder)(
            **args.text_encoder_conf
        )
        contrastive_loss = contrastive_loss_choices.get_class(args.contrastive_loss)(
            **args.contrastive_loss_conf
        )
        ssl_objective = None
        if args.ssl is not None:
            ssl_objective = ssl_choices.get_class(args.ssl)(
                audio_encoder=audio_encoder, **args.ssl_conf
            )
        caption_decoder = None
        if args.caption_decoder is not None:
            if token_list is None:
                raise ValueError("--caption_decoder needs --token_list (recipe stage 4)")
            caption_decoder = caption_decoder_choices.get_class(args.caption_decoder)(
                vocab_size=len(token_list),
                memory_size=audio_encoder.output_size(),
                **args.caption_decoder_conf,
            )
        return model_choices.get_class(args.model)(
            frontend=frontend,
            specaug=specaug,
            normalize=normalize,
            audio_encoder=audio_encoder,
            text_encoder=text_encoder,
            contrastive_loss=contrastive_loss,
            ssl_objective=ssl_objective,
            caption_decoder=caption_decoder,
            token_list=token_list,
            **args.model_conf,
        )

    @classmethod
    def build_optimizers(
        cls, args: argparse.Namespace, model: torch.nn.Module
    ) -> List[torch.optim.Optimizer]:
        """One optimizer over the trainable parameters (the EMA teacher is not among them).

        With ``--exclude_weight_decay true``, 1-D parameters (norm gains, temperature, bias)
        get no weight decay. This is ESPnet's one task hook between building the model and
        building the schedulers and ``Trainer.run``, so it also plans the run: the
        scheduler's length becomes the run's planned optimizer steps
        (:func:`plan_schedulers`), and the model's temperature clamp and EMA teachers
        (schedule over the same steps, ``attach_ema_teachers``) are hooked to the optimizer.
        """
        optim_class = optim_classes.get(args.optim)
        if optim_class is None:
            raise ValueError(f"--optim must be one of {list(optim_classes)}: {args.optim}")
        trainable = [p for p in model.parameters() if p.requires_grad]
        if args.exclude_weight_decay:
            groups = [
                {"params": [p for p in trainable if p.ndim >= 2]},
                {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
            ]
            optimizer = optim_class(groups, **args.optim_conf)
        else:
            optimizer = optim_class(trainable, **args.optim_conf)

        collect_stats = getattr(args, "collect_stats", False)  # nothing trains: no count
        planned = once(lambda: 1 if collect_stats else cls.planned_optimizer_steps(args))
        plan_schedulers(args, planned, cls.num_optimizers)
        if not collect_stats and (args.train_shape_file or args.num_iters_per_epoch):
            planned()  # counted (and logged) at start, whether a schedule needs it or not
        if hasattr(model, "after_optimizer_step"):  # the temperature clamp
            after_each_real_step(optimizer, model.after_optimizer_step)
        attach_ema_teachers(model, optimizer, lambda: args.ema_total_steps or planned())
        return [optimizer]

    @classmethod
    def planned_optimizer_steps(cls, args: argparse.Namespace) -> int:
        """The optimizer steps this run takes on its world size (LR and EMA schedules)."""
        return count_optimizer_steps(args, cls.tokens_per_sample_fn(args))

    @classmethod
    @typechecked
    def build_task_iter_factory(
        cls, args: argparse.Namespace, iter_options: IteratorOptions, mode: str
    ) -> AbsIterFactory:
        """The packing sampler: random batches within a budget of audio patch tokens."""
        if mode == "plot_att":  # a few fixed utterances: ESPnet's own iterator does this
            return cls.build_sequence_iter_factory(args, iter_options, mode)
        _say_which_caption_validation_reads(args, mode)
        return build_packing_iter_factory(
            args,
            iter_options,
            mode,
            tokens_fn=cls.tokens_per_sample_fn(args),
            build_dataset=lambda keys: cls.build_dataset(args, iter_options, keys),
            skip_bad_files=True,
        )

    @classmethod
    def build_multiple_iter_factory(cls, args: argparse.Namespace, distributed_option, mode: str):
        """``--multiple_iterator true``: the packing sampler shard by shard (one in memory)."""
        if args.iterator_type != "task":
            return super().build_multiple_iter_factory(args, distributed_option, mode)
        iter_options = cls.build_iter_options(args, distributed_option, mode)
        return build_sharded_packing_iter_factory(
            args,
            iter_options,
            mode,
            tokens_fn=cls.tokens_per_sample_fn(args),
            build_dataset=lambda options, keys: cls.build_dataset(args, options, keys),
            skip_bad_files=True,
        )

    @classmethod
    @typechecked
    def build_sequence_iter_factory(
        cls, args: argparse.Namespace, iter_options: IteratorOptions, mode: str
    ) -> AbsIterFactory:
        """ESPnet's own iterator, each key tagged with its data pass for the draws."""
        _say_which_caption_validation_reads(args, mode)
        return DataPassIterFactory(super().build_sequence_iter_factory(args, iter_options, mode))

    @classmethod
    def build_dataset(cls, args: argparse.Namespace, iter_options: IteratorOptions,
                      keys_to_load=None):
        """ESPnet's dataset (and its ``--max_cache_size`` cache) over the deterministic part
        of the preprocessing; the per-load draws (caption, crop) run after it
        (:class:`PerLoadDraws`), so a cached clip still gets a new draw every data pass."""
        preprocess = iter_options.preprocess_fn
        if not isinstance(preprocess, SLAPPreprocessor):
            return super().build_dataset(args, iter_options, keys_to_load)
        prepared = dataclasses.replace(iter_options, preprocess_fn=preprocess.prepare)
        return PerLoadDraws(super().build_dataset(args, prepared, keys_to_load), preprocess)

    @classmethod
    def tokens_per_sample_fn(cls, args: argparse.Namespace) -> Callable[[int], int]:
        """Length of a clip's ``speech`` (samples, or frames of dumped features) -> audio
        tokens the encoder will see (the sampler's cost)."""
        crop_seconds = getattr(args, "crop_seconds", None)
        return clip_token_cost_fn(
            frontend_choices.get_class(args.frontend)(**args.frontend_conf),
            audio_encoder_choices.get_class(args.audio_encoder),
            args.audio_encoder_conf,
            None if crop_seconds is None else crop_seconds * _speech_rate(args),
            input_is_frames=speech_is_features(args),
        )


def clip_token_cost_fn(
    frontend: torch.nn.Module,
    encoder_class: type,
    encoder_conf: dict,
    crop_samples: Optional[float] = None,
    input_is_frames: bool = False,
) -> Callable[[int], int]:
    """Samples of a clip (frames with ``input_is_frames``) -> tokens
    ``encoder_class(**encoder_conf)`` runs on its features.

    A clip longer than ``crop_samples`` (in the same unit) costs what its window costs.
    """
    hop_length = frontend.hop_length
    tokens_of_frames = encoder_class.token_cost_fn(frontend.output_size(), encoder_conf)
    max_length = None if crop_samples is None else int(round(crop_samples))

    def cost(length: int) -> int:
        if max_length is not None:
            length = min(length, max_length)
        return tokens_of_frames(length if input_is_frames else length // hop_length + 1)
    return cost


FEATURE_TYPES = ("kaldi_ark", "npy")  # ESPnet data types that hold (frames, bins) features


def speech_is_features(args: argparse.Namespace) -> bool:
    """Whether ``speech`` holds dumped log-mel features (``--feats_type fbank``: Kaldi ark)
    rather than waveforms; training and validation data must agree."""
    kinds = set()
    for option in ("train_data_path_and_name_and_type", "valid_data_path_and_name_and_type"):
        for path, name, kind in getattr(args, option, None) or []:
            if name == "speech":
                kinds.add(kind in FEATURE_TYPES)
    if len(kinds) > 1:
        raise ValueError("--train_data_path_and_name_and_type and "
                         "--valid_data_path_and_name_and_type give 'speech' as waveforms in one "
                         "and as features in the other: dump both the same way")
    return kinds == {True}


def _speech_rate(args: argparse.Namespace) -> float:
    """Samples (or feature frames) of ``speech`` per second."""
    fs = frontend_sample_rate(args.frontend_conf)
    if speech_is_features(args):
        return fs / frontend_choices.get_class(args.frontend)(**args.frontend_conf).hop_length
    return fs


def _say_which_caption_validation_reads(args: argparse.Namespace, mode: str) -> None:
    """Validation reads a clip's first caption: say so when clips have several."""
    names = [name for _, name, _ in getattr(args, "valid_data_path_and_name_and_type", [])]
    if mode == "valid" and "captions" in names:
        logging.info(
            "[valid] clips with several captions (utt2captions): the validation loss reads the "
            "first caption of each clip only (retrieval scoring uses them all)"
        )


def _read_token_list(args: argparse.Namespace) -> Optional[List[str]]:
    """Load ``--token_list`` into ``args`` as a list, which keeps config.yaml portable."""
    if args.token_list is None:
        return None
    if isinstance(args.token_list, str):
        with open(args.token_list, encoding="utf-8") as f:
            args.token_list = [line.rstrip() for line in f]
    return list(args.token_list)
