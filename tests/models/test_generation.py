"""KV cache (GPT and the cross-attention decoder), left-padded prompts, and beam search."""

from __future__ import annotations

import pytest
import torch

from bertvsgpt.models import (
    Embeddings,
    GPTForPreTraining,
    KVCache,
    ModelConfig,
    Transformer,
    TransformerDecoder,
    beam_search,
    make_attention_mask,
)

V, T = 50, 16


def config(**kw) -> ModelConfig:
    base = dict(vocab_size=V, n_layer=2, n_head=4, d_model=32, d_ff=64, max_seq_len=T, dropout=0.0,
                type_vocab_size=0, causal=True)
    base.update(kw)
    return ModelConfig(**base)


def test_attention_mask_for_the_last_queries():
    am = torch.tensor([[0, 1, 1, 1]])  # left-padded: position 0 is padding
    m = make_attention_mask(am, causal=True, n_queries=2)[0, 0]
    # queries are positions 2 and 3: each sees the real keys up to itself
    assert m.tolist() == [[False, True, True, False], [False, True, True, True]]
    assert torch.equal(make_attention_mask(am, True, n_queries=4), make_attention_mask(am, True))
    with pytest.raises(ValueError, match="n_queries"):
        make_attention_mask(am, True, n_queries=5)


def test_incremental_forward_matches_full_forward():
    torch.manual_seed(0)
    model = Transformer(config()).eval()
    x = torch.randint(0, V, (3, 10))
    full = model(x)
    cache = KVCache(2)
    parts = [model(x[:, :4], cache=cache)]  # prompt, then one token at a time
    for t in range(4, 10):
        parts.append(model(x[:, t : t + 1], cache=cache))
    assert len(cache) == 10
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)
    # two new positions at once need the shifted causal mask
    cache = KVCache(2)
    a = model(x[:, :7], cache=cache)
    b = model(x[:, 7:], cache=cache)
    assert torch.allclose(torch.cat([a, b], dim=1), full, atol=1e-5)
    with pytest.raises(ValueError, match="max_seq_len"):
        model(x[:, :7], cache=cache)  # 17 positions > max_seq_len=16


def test_left_padded_prompt_with_positions_matches_unpadded():
    torch.manual_seed(0)
    model = Transformer(config()).eval()
    x = torch.randint(1, V, (1, 6))
    ref = model(x)
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), x], dim=1)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1]])
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    cache = KVCache(2)
    out = model(padded, attention_mask=mask, position_ids=pos, cache=cache)
    assert torch.allclose(out[:, 3:], ref, atol=1e-5)
    # one more token, at position 6, attending to the cached (padded) prompt
    nxt = torch.randint(1, V, (1, 1))
    longer_mask = torch.cat([mask, mask.new_ones(1, 1)], dim=1)
    step = model(nxt, attention_mask=longer_mask, position_ids=torch.tensor([[6]]), cache=cache)
    assert torch.allclose(step, model(torch.cat([x, nxt], 1))[:, -1:], atol=1e-5)
    with pytest.raises(ValueError, match="attention_mask covers"):
        model(nxt, attention_mask=mask, cache=cache)


def test_gpt_cached_and_uncached_greedy_generation_agree():
    torch.manual_seed(0)
    model = GPTForPreTraining(config()).eval()
    idx = torch.randint(0, V, (3, 4))
    cached = model.generate(idx, max_new_tokens=T - 4, temperature=0)
    plain = model.generate(idx, max_new_tokens=T - 4, temperature=0, use_cache=False)
    assert torch.equal(cached, plain)
    # the logits of every step agree too
    cache = KVCache(2)
    logits = [model.lm_head(model.transformer(cached[:, :4], cache=cache))[:, -1]]
    for t in range(4, T - 1):
        logits.append(model.lm_head(model.transformer(cached[:, t : t + 1], cache=cache))[:, -1])
    full = model(cached[:, : T - 1])["logits"][:, 3:]
    assert torch.allclose(torch.stack(logits, dim=1), full, atol=1e-5)
    # beyond max_seq_len the window slides, with or without the cache
    longer = model.generate(idx, max_new_tokens=T + 3, temperature=0)
    assert torch.equal(longer, model.generate(idx, max_new_tokens=T + 3, temperature=0, use_cache=False))
    assert torch.equal(longer[:, :T], cached)


def decoder_setup(seed: int = 0):
    torch.manual_seed(seed)
    cfg = config(causal=False, type_vocab_size=2)
    emb = Embeddings(cfg)
    dec = TransformerDecoder(cfg, n_layer=2, embeddings=emb).eval()
    memory = torch.randn(2, 5, 32)
    memory_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return dec, emb, memory, memory_mask


def test_decoder_ties_embeddings_and_is_causal():
    dec, emb, memory, mm = decoder_setup()
    assert dec.embeddings is emb and dec.lm_head.weight is emb.word_embeddings.weight
    assert dec.config.causal and dec.config.n_layer == 2
    y = torch.randint(0, V, (2, 6))
    out = dec(y, memory, mm)
    assert out.shape == (2, 6, V)
    y2 = y.clone()
    y2[:, 4:] = (y2[:, 4:] + 1) % V
    assert torch.allclose(dec(y2, memory, mm)[:, :4], out[:, :4], atol=1e-6)
    # padded source positions are never attended
    m2 = memory.clone()
    m2[1, 3:] = 100.0
    assert torch.allclose(dec(y, m2, mm)[1], out[1], atol=1e-6)
    with pytest.raises(ValueError, match="n_layer"):
        TransformerDecoder(dec.config, 0, emb)


def test_decoder_cache_matches_full_forward():
    dec, _, memory, mm = decoder_setup()
    y = torch.randint(0, V, (2, 7))
    full = dec(y, memory, mm)
    cache = dec.new_cache()
    steps = [dec(y[:, :1], memory, mm, cache)]
    assert cache[0].memory is not None  # encoder keys/values computed once
    for t in range(1, 7):
        steps.append(dec(y[:, t : t + 1], memory, mm, cache))
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)
    # reordering rows of the cache == running the reordered batch
    cache.reorder(torch.tensor([1, 1]))
    nxt = torch.randint(0, V, (2, 1))
    out = dec(nxt, memory[[1, 1]], mm[[1, 1]], cache)
    ref = dec(torch.cat([y[[1, 1]], nxt], 1), memory[[1, 1]], mm[[1, 1]])[:, -1:]
    assert torch.allclose(out, ref, atol=1e-5)


class ToyModel:
    """A fixed next-token table on a 4-token vocabulary (0 = EOS) that fools greedy search.

    After the prompt: P(1) = 0.5, P(2) = 0.4. After 1: P(3) = 0.4, then EOS.
    After 2: P(0) = 0.95. Greedy takes 1, 3, 0 (0.2); the best sequence is 2, 0 (0.38).
    """

    def __init__(self, n_rows: int) -> None:
        self.last = torch.full((n_rows,), -1)
        self.calls = 0

    def table(self, prev: torch.Tensor) -> torch.Tensor:
        probs = {-1: [0.05, 0.5, 0.4, 0.05], 1: [0.3, 0.3, 0.0, 0.4], 2: [0.95, 0.02, 0.02, 0.01],
                 3: [1.0, 0.0, 0.0, 0.0], 0: [1.0, 0.0, 0.0, 0.0]}
        return torch.tensor([probs[int(p)] for p in prev]).clamp(min=1e-9).log()

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.last = ids[:, 0].clone()
        return self.table(self.last)

    def reorder(self, index: torch.Tensor) -> None:
        self.last = self.last[index]


def test_beam_search_beats_greedy_on_a_toy_model():
    greedy_model = ToyModel(1)
    greedy = beam_search(greedy_model.table(greedy_model.last), greedy_model.step, greedy_model.reorder,
                         num_beams=1, max_new_tokens=4, eos_token_id=0)
    assert greedy.tolist() == [[1, 3, 0]]
    beam_model = ToyModel(2)
    best = beam_search(beam_model.table(beam_model.last), beam_model.step, beam_model.reorder,
                       num_beams=2, max_new_tokens=4, eos_token_id=0, length_penalty=0.0)
    assert best.tolist() == [[2, 0, 0]]  # a finished beam is padded with EOS
    assert beam_model.calls == 2  # stopped as soon as both beams had ended
    with pytest.raises(ValueError, match="num_beams"):
        beam_search(torch.zeros(2, 4), beam_model.step, beam_model.reorder, 0, 3, 0)
    with pytest.raises(ValueError, match="groups"):
        beam_search(torch.zeros(3, 4), beam_model.step, beam_model.reorder, 2, 3, 0)


def test_greedy_beam_search_is_argmax_decoding_and_pads_with_eos():
    torch.manual_seed(0)
    model = GPTForPreTraining(config()).eval()
    idx = torch.randint(1, V, (2, 3))
    ref = model.generate(idx, max_new_tokens=6, temperature=0)[:, 3:].tolist()
    eos = ref[0][2]  # pretend the third greedy token of row 0 is the end token
    cache = KVCache(2)
    first = model.lm_head(model.transformer(idx, cache=cache))[:, -1]
    out = beam_search(first, lambda ids: model.lm_head(model.transformer(ids, cache=cache))[:, -1],
                      cache.reorder, num_beams=1, max_new_tokens=6, eos_token_id=eos)
    for row, r in zip(out.tolist(), ref):
        cut = r.index(eos) + 1 if eos in r else len(r)
        assert row[:cut] == r[:cut] and all(t == eos for t in row[cut:])
