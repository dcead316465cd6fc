"""Recipe inference: embed audio (and captions) and generate captions for a data dir.

    python -m espnet2_slap.bin.slap_inference \\
        --slap_train_config exp/slap_tiny/config.yaml \\
        --slap_model_file exp/slap_tiny/valid.loss.best.pth \\
        --data_path_and_name_and_type dump/raw/test/wav.scp,speech,sound \\
        --output_dir exp/slap_tiny/inference/test

Writes into ``--output_dir``: ``audio_embeds.ark/.scp`` (one ``(D,)`` float32 vector per
utterance, Kaldi format), ``text_embeds.ark/.scp`` when a ``text`` entry is given, and
``captions`` (``utt_id caption``) when the model has a caption decoder and ``--caption true``.
Each file is written under a temporary name and renamed when complete
(``utils/embeddings_scp``); readers find the arks from the scp's folder, so the output may
be moved. Audio files are read by path, a long one window by window (bounded memory).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2.fileio.read_text import read_2columns_text
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool, str2triple_str, str_or_none

from espnet2_slap.inference.slap_inference import SLAPInference
from espnet2_slap.utils.atomic_files import atomic_write_text
from espnet2_slap.utils.embeddings_scp import write_embeddings
from espnet2_slap.utils.waveform import AudioInputError


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="SLAP inference: audio/text embeddings and captions",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"],
                        help="logging level")
    parser.add_argument("--output_dir", required=True, help="where the embeddings and captions go")
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: the first GPU")
    group = parser.add_argument_group("Model")
    group.add_argument("--slap_train_config", type=str_or_none,
                       help="the experiment's config.yaml (with --slap_model_file)")
    group.add_argument("--slap_model_file", type=str_or_none, help="the trained weights (.pth)")
    group.add_argument("--model_tag", type=str_or_none, help="packed .zip or model-zoo tag")
    group = parser.add_argument_group("Input data")
    group.add_argument(
        "--data_path_and_name_and_type",
        type=str2triple_str,
        action="append",
        required=True,
        help="path,name,type: 'wav.scp,speech,sound' and optionally 'text,text,text'",
    )
    group.add_argument("--key_file", type=str_or_none, help="only these utterances")
    group = parser.add_argument_group("Encoding")
    group.add_argument("--batch_tokens", type=int, default=32768,
                       help="audio patch tokens per encoder call")
    group.add_argument("--clips_per_call", type=int, default=64, help="clips read per batch")
    group.add_argument("--max_native_seconds", type=float, default=30.0,
                       help="clips up to this long are encoded whole")
    group.add_argument("--chunk_seconds", type=float, default=30.0,
                       help="longer clips: window length of the averaged embeddings")
    group.add_argument("--chunk_hop_seconds", type=float, default=15.0,
                       help="longer clips: hop between windows")
    group = parser.add_argument_group("Captioning")
    group.add_argument("--caption", type=str2bool, default=True, help="when the model can")
    group.add_argument("--beam_size", type=int, default=1, help="beam width, 1 for greedy decoding")
    group.add_argument("--max_caption_length", type=int, default=30, help="most tokens per caption")
    return parser


def build_model(args: argparse.Namespace) -> SLAPInference:
    """From a config + model file, or from a packed archive / model-zoo tag."""
    kwargs = dict(
        device="cuda" if args.ngpu > 0 else "cpu",
        batch_tokens=args.batch_tokens,
        max_native_seconds=args.max_native_seconds,
        chunk_seconds=args.chunk_seconds,
        chunk_hop_seconds=args.chunk_hop_seconds,
    )
    if args.model_tag is not None:
        return SLAPInference.from_pretrained(args.model_tag, **kwargs)
    if args.slap_train_config is None:
        raise SystemExit("error: give --slap_train_config (and --slap_model_file) or --model_tag")
    return SLAPInference(args.slap_train_config, args.slap_model_file, **kwargs)


def read_inputs(
    entries: Sequence[Tuple[str, str, str]], key_file: Optional[str]
) -> Tuple[List[str], Optional[Dict[str, str]], Optional[Dict[str, str]]]:
    """Utterance ids to process, their audio files and captions, from the data triples."""
    audio, text = None, None
    for path, name, kind in entries:
        if not Path(path).is_file():
            raise SystemExit(f"error: --data_path_and_name_and_type {path}: no such file")
        if name == "speech" and kind == "sound":
            audio = read_2columns_text(path)  # utt -> file, read by SLAPInference
        elif name == "text" and kind == "text":
            text = read_2columns_text(path)
        else:
            raise SystemExit(f"error: unsupported data entry {path},{name},{kind}")
    if audio is None and text is None:
        raise SystemExit("error: give a speech (sound) entry, a text entry, or both")
    source = audio if audio is not None else text
    keys = list(source.keys())
    if key_file is not None:
        wanted = _read_keys(key_file)
        known = set(keys)
        unknown = [k for k in wanted if k not in known]
        if unknown:
            raise SystemExit(f"error: {key_file}: {len(unknown)} keys not in the data, e.g. {unknown[0]}")
        keys = wanted
    return keys, audio, text


def _read_keys(path: str) -> List[str]:
    """First column of each line (a key file may be a plain list or a subset of an scp)."""
    with open(path, encoding="utf-8") as f:
        return [line.split(maxsplit=1)[0] for line in f if line.strip()]


def run(args: argparse.Namespace, slap: Optional[SLAPInference] = None) -> None:
    """Write the outputs for ``args``; ``slap`` reuses an already loaded model."""
    keys, audio, text = read_inputs(args.data_path_and_name_and_type, args.key_file)
    slap = build_model(args) if slap is None else slap
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    make_captions = args.caption and slap.model.caption_decoder is not None and audio is not None

    if audio is not None:
        caption_lines = []
        with write_embeddings(out, "audio_embeds") as write:
            for start in range(0, len(keys), args.clips_per_call):
                batch = keys[start : start + args.clips_per_call]
                files = [audio[k] for k in batch]
                try:  # the error names the file
                    embeddings = slap.embed_audio(files)
                    if make_captions:
                        captions = slap.caption(
                            files, beam_size=args.beam_size, max_length=args.max_caption_length
                        )
                        caption_lines += [f"{k} {c}\n" for k, c in zip(batch, captions)]
                except AudioInputError as err:
                    raise SystemExit(f"error: {err}") from err
                for key, embedding in zip(batch, embeddings):
                    write(key, embedding)
                logging.info(f"embedded {min(start + len(batch), len(keys))}/{len(keys)} clips")
        if make_captions:
            atomic_write_text(out / "captions", "".join(caption_lines))

    if text is not None:
        embeddings = slap.embed_text([text[k] for k in keys])
        with write_embeddings(out, "text_embeds") as write:
            for key, embedding in zip(keys, embeddings):
                write(key, embedding)
    logging.info(f"wrote {out}")


def main(cmd: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
    )
    logging.info(" ".join(sys.argv if cmd is None else cmd))
    run(args)


if __name__ == "__main__":
    main()
