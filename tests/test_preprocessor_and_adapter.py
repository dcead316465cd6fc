"""The data-loader preprocessor, and ESPnet's own encoders as SLAP audio encoders."""

import copy

import numpy as np
import pytest
import torch

from espnet2_slap.audio.espnet_encoder_adapter import ESPnetEncoderAdapter
from espnet2_slap.tasks.slap import SLAPTask
from espnet2_slap.text.hf_text_encoder import HuggingFaceTextEncoder
from espnet2_slap.data.preprocessor import SLAPPreprocessor

from conftest import MINILM, TINY_CONFIG


def test_preprocessor_tokenizes_twice_and_downmixes(char_token_list):
    tokenizer = HuggingFaceTextEncoder.build_tokenizer(model_name_or_path=MINILM)
    pre = SLAPPreprocessor(True, tokenizer, token_list=str(char_token_list), token_type="char",
                           max_caption_tokens=5)
    stereo = np.stack([np.ones(100), 3 * np.ones(100)], axis=1)
    out = pre("u1", {"speech": stereo, "text": "a dog barks"})
    assert out["speech"].shape == (100,) and out["speech"].dtype == np.float32
    np.testing.assert_allclose(out["speech"], 2.0)
    assert out["text"].tolist() == tokenizer("a dog barks")
    tokens = [line.strip() for line in open(char_token_list)]
    assert [tokens[i] for i in out["caption"]] == ["a", "<space>", "d", "o", "g"]  # truncated to 5
    with pytest.raises(ValueError, match="u2.*NaN"):
        pre("u2", {"speech": np.array([0.1, np.nan]), "text": "x"})
    with pytest.raises(ValueError, match="u3.*empty"):
        pre("u3", {"speech": np.zeros(0), "text": "x"})
    with pytest.raises(ValueError, match="bpemodel"):
        SLAPPreprocessor(True, tokenizer, token_list=str(char_token_list), token_type="bpe")


def test_espnet_conformer_as_audio_encoder():
    encoder = ESPnetEncoderAdapter(64, "conformer", dict(output_size=32, attention_heads=2,
                                                         linear_units=64, num_blocks=1)).eval()
    feats, lengths = torch.randn(2, 120, 64), torch.tensor([120, 60])
    out = encoder(feats, lengths)
    # Conv2dSubsampling x4 keeps 29 of 120 frames; ESPnet subsamples the mask as
    # mask[:-2:2][:-2:2], so 60 valid frames of 120 keep 15. Packed without the padding:
    assert out.lengths.tolist() == [29, 15]
    padded, _, _ = encoder.encoder(feats, lengths)
    torch.testing.assert_close(out.values, torch.cat([padded[0, :29], padded[1, :15]]))
    assert not encoder.supports_token_mask
    with pytest.raises(ValueError, match="cannot mask"):
        encoder(feats, lengths, token_mask=torch.zeros(int(out.lengths.sum()), dtype=torch.bool))


def test_a_config_swaps_in_espnet_encoder_and_sigmoid_loss(char_token_list):
    conf = copy.deepcopy(TINY_CONFIG)
    conf.update(
        audio_encoder="espnet",
        audio_encoder_conf={"encoder": "transformer", "encoder_conf": {
            "output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 1}},
        contrastive_loss="sigmoid", contrastive_loss_conf={},
        ssl=None, ssl_conf={},
    )
    args = SLAPTask.get_parser().parse_args(["--output_dir", "unused"])
    for key, value in conf.items():
        setattr(args, key, value)
    args.token_list = str(char_token_list)
    model = SLAPTask.build_model(args)
    assert type(model.audio_encoder.encoder).__name__ == "TransformerEncoder"
    assert type(model.contrastive_loss).__name__ == "SigmoidLoss"
    pre, collate = SLAPTask.build_preprocess_fn(args, True), SLAPTask.build_collate_fn(args, True)
    items = [(f"u{i}", pre(f"u{i}", {"speech": np.random.randn(n).astype(np.float32), "text": "a dog"}))
             for i, n in enumerate([8000, 16000])]
    batch = collate(items)[1]
    model.eval()  # no SpecAug, no dropout: the embeddings below are the ones the loss saw
    loss, stats, _ = model(**batch)
    loss.backward()
    with torch.no_grad():
        audio = model.embed_audio(batch["speech"], batch["speech_lengths"]).double()
        text = model.embed_text(batch["text"], batch["text_lengths"]).double()
    logits = 10.0 * audio @ text.T - 10.0  # SigLIP init: temperature 0.1, bias -10
    signs = 2 * torch.eye(2, dtype=torch.float64) - 1
    expected = -torch.nn.functional.logsigmoid(signs * logits).sum() / 2
    assert float(stats["loss_clap"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(stats["bias"]) == -10.0
    grads = [p.grad for p in model.audio_encoder.encoder.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)

    conf_ssl = dict(conf, ssl="masked_distillation", ssl_conf={})
    for key, value in conf_ssl.items():
        setattr(args, key, value)
    with pytest.raises(ValueError, match="cannot mask tokens"):
        SLAPTask.build_model(args)
