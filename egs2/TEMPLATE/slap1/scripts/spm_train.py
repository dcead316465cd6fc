#!/usr/bin/env python3
"""Train a sentencepiece model for the caption decoder's token list.

    python scripts/spm_train.py --input train_text.txt --model_prefix token_list/bpe \\
        --vocab_size 500 --model_type unigram

Writes ``<model_prefix>.model`` and ``<model_prefix>.vocab``. A small corpus may not support
the requested vocabulary size; sentencepiece then refuses a hard limit, and this script
retries with the size as an upper bound (``hard_vocab_limit=false``) and says so.
"""

import argparse
import re
import sys
from typing import Sequence

import sentencepiece

TOO_LARGE_VOCABULARY = re.compile(r"Vocabulary size (is )?too high")


def _reason(err: RuntimeError) -> str:
    """sentencepiece's message without its source-location prefix."""
    return str(err).split("] ", 1)[-1].strip()


def train(input_path: str, model_prefix: str, vocab_size: int, model_type: str,
          character_coverage: float, input_sentence_size: int, hard_vocab_limit: bool) -> None:
    """One sentencepiece training run (warnings and errors only on the console)."""
    sentencepiece.SentencePieceTrainer.train(
        input=input_path,
        model_prefix=model_prefix,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        input_sentence_size=input_sentence_size,
        shuffle_input_sentence=True,
        hard_vocab_limit=hard_vocab_limit,
        minloglevel=1,
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="one sentence per line")
    parser.add_argument("--model_prefix", required=True, help="writes <prefix>.model and <prefix>.vocab")
    parser.add_argument("--vocab_size", type=int, required=True,
                        help="vocabulary size (an upper bound: lowered when the text is too small)")
    parser.add_argument("--model_type", default="unigram",
                        choices=["unigram", "bpe", "char", "word"], help="sentencepiece model type")
    parser.add_argument("--character_coverage", type=float, default=1.0,
                        help="share of the characters the model covers")
    parser.add_argument("--input_sentence_size", type=int, default=100_000_000,
                        help="at most this many sentences are read")
    args = parser.parse_args(argv)
    if args.vocab_size < 4:
        parser.error(f"--vocab_size must be at least 4, got {args.vocab_size}")

    options = (args.input, args.model_prefix, args.vocab_size, args.model_type,
               args.character_coverage, args.input_sentence_size)
    try:
        try:
            train(*options, hard_vocab_limit=True)
        except RuntimeError as err:
            if not TOO_LARGE_VOCABULARY.search(str(err)):
                raise
            print(f"spm_train.py: {_reason(err).rstrip('.')}; training with --vocab_size "
                  f"{args.vocab_size} as an upper bound", file=sys.stderr)
            train(*options, hard_vocab_limit=False)
    except RuntimeError as err:
        print(f"spm_train.py: error: {args.input}: {_reason(err)}", file=sys.stderr)
        return 1
    model = sentencepiece.SentencePieceProcessor(model_file=f"{args.model_prefix}.model")
    print(f"spm_train.py: {args.model_type} model with {model.get_piece_size()} pieces: "
          f"{args.model_prefix}.model")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
