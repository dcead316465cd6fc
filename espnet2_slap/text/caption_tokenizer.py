"""The caption decoder's tokenizer, built without ESPnet's ``build_tokenizer`` module.

``espnet2.text.build_tokenizer`` imports every ESPnet tokenizer, among them the phoneme
tokenizer, whose ``g2p_en`` import tries NLTK downloads (``[nltk_data] Error loading ...``
offline) and costs seconds. SLAP captions use ``bpe`` (sentencepiece), ``char`` or ``word``
tokens, so only those modules are imported; other token types still go through ESPnet's
builder, imported when asked for.
"""

from pathlib import Path
from typing import Optional, Union

from espnet2.text.abs_tokenizer import AbsTokenizer


def build_caption_tokenizer(token_type: str, bpemodel: Optional[Union[str, Path]] = None) -> AbsTokenizer:
    """The tokenizer ``build_tokenizer(token_type, bpemodel)`` returns, for the same arguments."""
    if token_type == "bpe":
        if bpemodel is None:
            raise ValueError("token_type 'bpe' needs a sentencepiece model (bpemodel)")
        from espnet2.text.sentencepiece_tokenizer import SentencepiecesTokenizer

        return SentencepiecesTokenizer(bpemodel)
    if token_type == "char":
        from espnet2.text.char_tokenizer import CharTokenizer

        return CharTokenizer()
    if token_type == "word":
        from espnet2.text.word_tokenizer import WordTokenizer

        return WordTokenizer()
    from espnet2.text.build_tokenizer import build_tokenizer

    return build_tokenizer(token_type=token_type, bpemodel=bpemodel)
