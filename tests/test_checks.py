"""The diagnostic checks: the reference formulas equal Paddle / the course package, a correct
answer passes, and each known mistake is fed in and its own message must appear."""

import itertools

import numpy as np
import paddle
import pytest

from rnn_course import checks
from rnn_course.cells import count_parameters, gru_step, sigmoid
from rnn_course.generate import next_token_probs
from rnn_course.language_model import NGramLM


def fails_with(check, fn, *fragments, **kwargs):
    with pytest.raises(AssertionError) as info:
        check(fn, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), f"expected {fragment!r} in {info.value}"
    return str(info.value)


def not_done(*args, **kwargs):
    raise NotImplementedError()


@pytest.fixture(autouse=True)
def references_allowed(monkeypatch, request):
    """Most tests use the reference formulas and course functions as the "learner's" answer; the
    shortcut guard (tested on its own below) would reject them, so it is switched off here."""
    if "shortcut" not in request.node.name:
        monkeypatch.setattr(checks, "_own_references", lambda: [])
        monkeypatch.setattr(checks, "_package", lambda *names: [])


# ---------------------------------------------------------------------------------- basics
def test_basic_assertions():
    checks.check_close([1.0, 2.0], [1.0, 2.0], "ok")
    with pytest.raises(AssertionError, match="检查 b_h"):
        checks.check_close([1.0, 2.5], [1.0, 2.0], "h_t 与期望不符：检查 b_h")
    with pytest.raises(AssertionError, match="形状"):
        checks.check_close([1.0], [1.0, 2.0], "shape")
    with pytest.raises(AssertionError, match="参数个数"):
        checks.check_equal(3, 4, "参数个数不对")
    with pytest.raises(AssertionError, match="形状是 \\(3,\\)，应为 \\(3, 1\\)"):
        checks.check_shape(np.zeros(3), (3, 1), "目标")
    checks.check_choice("B")
    for bad in ("D", "AB", 1, None):
        with pytest.raises(AssertionError, match="answer 应是"):
            checks.check_choice(bad)


def test_not_implemented_and_bad_shapes_are_explained():
    fails_with(checks.check_rnn_step, not_done, "还没有实现")
    fails_with(checks.check_rnn_step, lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih + h @ W_hh),
               "形状对不上", "x @ W_ih.T")
    fails_with(checks.check_rnn_step, lambda x, h, W_ih, W_hh, b_ih, b_hh: np.zeros((4, 2)),
               "h_t 的形状是 (4, 2)，应为 (2, 4)")


# ---------------------------------------------------------------------------------- ch01
def test_rnn_step_reference_equals_paddle_and_mistakes_are_named():
    a = checks._rnn_args(0)
    cell = paddle.nn.SimpleRNNCell(3, 4)
    for name, value in (("weight_ih", a["W_ih"]), ("weight_hh", a["W_hh"]), ("bias_ih", a["b_ih"]),
                        ("bias_hh", a["b_hh"])):
        getattr(cell, name).set_value(value.astype("float32"))
    out, _ = cell(paddle.to_tensor(a["x"], dtype="float32"), paddle.to_tensor(a["h"], dtype="float32"))
    np.testing.assert_allclose(checks._rnn_step(**a)[0], out.numpy(), atol=1e-6)

    def right(x, h, W_ih, W_hh, b_ih, b_hh):
        return np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)

    checks.check_rnn_step(right)
    fails_with(checks.check_rnn_step, lambda x, h, W_ih, W_hh, b_ih, b_hh: x @ W_ih.T + b_ih + h @ W_hh.T + b_hh,
               "没有 tanh")
    fails_with(checks.check_rnn_step, lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T),
               "少了 b_hh")
    fails_with(checks.check_rnn_step, lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + h @ W_hh + b_hh),
               "W_hh 没有转置")
    fails_with(checks.check_rnn_step,  # an unknown mistake in the b_ih term: isolation names it
               lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + 2 * b_ih + h @ W_hh.T + b_hh), "与 b_ih 有关")


def test_rnn_final_state():
    def step(x, h, W_ih, W_hh, b_ih, b_hh):
        return np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)

    def run(xs, W_ih, W_hh, b_ih, b_hh, seq_len=None, h0=0.0):
        h = np.full((xs.shape[0], W_hh.shape[0]), h0)
        for t in range(xs.shape[1] if seq_len is None else seq_len):
            h = step(xs[:, t], h, W_ih, W_hh, b_ih, b_hh)
        return h

    checks.check_rnn_final_state(run)
    fails_with(checks.check_rnn_final_state, lambda xs, *W: run(xs, *W, seq_len=xs.shape[1] - 1), "少跑了一步")
    fails_with(checks.check_rnn_final_state, lambda xs, *W: run(xs, *W, h0=1.0), "h_0 应为全 0")


# ---------------------------------------------------------------------------------- ch02
def test_clip_global_equals_paddle_and_mistakes():
    g = np.random.default_rng(0)
    grads = [g.standard_normal((4, 3)) * 3, g.standard_normal(5)]
    params = [paddle.create_parameter(list(x.shape), "float32") for x in grads]
    clipped = paddle.nn.ClipGradByGlobalNorm(0.5)(
        list(zip(params, [paddle.to_tensor(x, dtype="float32") for x in grads], strict=True)))
    for mine, (_, theirs) in zip(checks._clip_reference(grads, 0.5), clipped, strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-6)
    checks.check_clip_global(checks._clip_reference)
    fails_with(checks.check_clip_global,
               lambda grads, c: [x * (c / max(np.linalg.norm(x), c)) for x in grads], "单独裁剪")
    fails_with(checks.check_clip_global,
               lambda grads, c: [x * (c / np.sqrt(sum((y ** 2).sum() for y in grads))) for x in grads], "不应缩放")


def _bptt(delta, h_t, h_prev, x_t, W_hh):
    a = (1.0 - h_t ** 2) * delta
    return a.T @ x_t, a.T @ h_prev, a.sum(axis=0), a @ W_hh


def test_bptt_step_reference_equals_the_package_and_mistakes():
    from rnn_course import gradients as G

    params = G.init_rnn_params(3, 5, 1, seed=2)
    xs = np.random.default_rng(3).standard_normal((4, 6, 3))
    y = np.random.default_rng(4).standard_normal((4, 1))
    _, expected, dh = G.rnn_bptt(params, xs, y, "many_to_one")
    hs, _ = G.rnn_forward_readout(params, xs)
    delta, total = dh[-1], 0
    for t in range(6, 0, -1):
        dW_ih, dW_hh, db, delta = checks._bptt_reference(delta, hs[t], hs[t - 1], xs[:, t - 1], params["W_hh"])
        total = total + dW_hh
    np.testing.assert_allclose(total, expected["W_hh"], atol=1e-10)
    np.testing.assert_allclose(delta, expected["h0"], atol=1e-10)

    for part in ("weights", "delta"):
        checks.check_bptt_step(_bptt, part=part)
    checks.check_bptt_chain(_bptt)

    def no_tanh_prime(delta, h_t, h_prev, x_t, W_hh):
        return delta.T @ x_t, delta.T @ h_prev, delta.sum(axis=0), delta @ W_hh

    fails_with(checks.check_bptt_step, no_tanh_prime, "忘了 tanh 的导数", part="weights")
    fails_with(checks.check_bptt_step, no_tanh_prime, "忘了 tanh 的导数", part="delta")

    def wrong_delta(delta, h_t, h_prev, x_t, W_hh):  # right weights, δ through W_hhᵀ
        out = _bptt(delta, h_t, h_prev, x_t, W_hh)
        return (*out[:3], ((1.0 - h_t ** 2) * delta) @ W_hh.T)

    checks.check_bptt_step(wrong_delta, part="weights")  # partial credit: the weights still score
    fails_with(checks.check_bptt_step, wrong_delta, "W_hh 不转置", part="delta")
    fails_with(checks.check_bptt_chain, wrong_delta, "有限差分")
    fails_with(checks.check_bptt_step, lambda d, h, hp, x, W: (x.T @ ((1 - h ** 2) * d), *_bptt(d, h, hp, x, W)[1:]),
               "a_tᵀ x_t", part="weights")
    fails_with(checks.check_bptt_step, lambda d, h, hp, x, W: (*_bptt(d, h, hp, x, W)[:2], (1 - h ** 2) * d,
                                                               _bptt(d, h, hp, x, W)[3]), "对 batch 求和",
               part="weights")


def test_jacobian_mistakes():
    from rnn_course import gradients as G

    def right(hs, W_hh):
        J = np.eye(W_hh.shape[0])
        for k in range(len(hs) - 1, 1, -1):
            J = J @ ((1.0 - hs[k] ** 2)[:, None] * W_hh)
        return J

    hs = np.tanh(np.random.default_rng(1).standard_normal((6, 4)))
    W = np.random.default_rng(2).uniform(-1, 1, (4, 4))
    assert np.isclose(np.linalg.norm(checks._jacobian(hs, W), 2), G.rnn_jacobian_norms(hs, W)[0])
    checks.check_jacobian(right)

    def reversed_order(hs, W_hh):
        J = np.eye(W_hh.shape[0])
        for k in range(len(hs) - 1, 1, -1):
            J = ((1.0 - hs[k] ** 2)[:, None] * W_hh) @ J
        return J

    fails_with(checks.check_jacobian, reversed_order, "乘积的顺序反了")
    fails_with(checks.check_jacobian, lambda hs, W: checks._jacobian(hs, W, first=1), "多乘了一项")
    fails_with(checks.check_jacobian, lambda hs, W: checks._jacobian(hs, W, order="right"), "先 diag 再 W_hh")


# ---------------------------------------------------------------------------------- ch03
def test_lstm_reference_equals_paddle_and_mistakes():
    a = checks._lstm_args(1)
    cell = paddle.nn.LSTMCell(3, 5)
    for name, key in (("weight_ih", "W_ih"), ("weight_hh", "W_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
        getattr(cell, name).set_value(a[key].astype("float32"))
    h_pd, (_, c_pd) = cell(paddle.to_tensor(a["x"], dtype="float32"),
                           (paddle.to_tensor(a["h"], dtype="float32"), paddle.to_tensor(a["c"], dtype="float32")))
    h_np, c_np = checks._lstm_step(**a)
    np.testing.assert_allclose(c_np, c_pd.numpy(), atol=1e-5)
    np.testing.assert_allclose(h_np, h_pd.numpy(), atol=1e-5)

    def lstm(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", g_act=np.tanh, h_act=np.tanh):
        blocks = dict(zip(order, np.split(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, 4, axis=-1), strict=True))
        c_new = sigmoid(blocks["f"]) * c + sigmoid(blocks["i"]) * g_act(blocks["g"])
        return sigmoid(blocks["o"]) * h_act(c_new), c_new

    for part in ("c", "h"):
        checks.check_lstm_step(lstm, part=part)
    fails_with(checks.check_lstm_step, lambda *a: lstm(*a, g_act=sigmoid), "不是 sigmoid")
    fails_with(checks.check_lstm_step, lambda *a: lstm(*a, order="ifog"), "门的顺序不对", "(i, f, o, g)")
    fails_with(checks.check_lstm_step, lambda *a: lstm(*a, order="fiog"), "门的顺序不对")
    checks.check_lstm_step(lambda *a: lstm(*a, h_act=lambda v: v), part="c")  # c right, h wrong: 1 of 2 points
    fails_with(checks.check_lstm_step, lambda *a: lstm(*a, h_act=lambda v: v), "外面还要一个 tanh", part="h")
    fails_with(checks.check_lstm_step, lambda x, h, c, W_ih, W_hh, b_ih, b_hh: lstm(x, h, c, W_ih.T, W_hh, b_ih, b_hh),
               "形状对不上", "(4H, I)")


def test_lstm_param_count():
    for n_in, H, L, bi in ((5, 7, 2, True), (3, 4, 3, False)):
        layer = paddle.nn.LSTM(n_in, H, num_layers=L, direction="bidirect" if bi else "forward")
        assert checks.lstm_param_count_reference(n_in, H, L, bi) == count_parameters(layer)
    checks.check_lstm_param_count(checks.lstm_param_count_reference, forbidden=[paddle.nn.LSTM])

    def shortcut(n_in, H, L=1, bi=False):
        return count_parameters(paddle.nn.LSTM(n_in, H, num_layers=L, direction="bidirect" if bi else "forward"))

    checks.check_lstm_param_count(shortcut)  # the guard is off in this test: see test_shortcuts_fail
    fails_with(checks.check_lstm_param_count,
               lambda n, H, L=1, bi=False: checks.lstm_param_count_reference(n, H, L, bi, biases=1), "两个偏置")
    fails_with(checks.check_lstm_param_count,
               lambda n, H, L=1, bi=False: checks.lstm_param_count_reference(n, H, L, bi, upper_input=H), "2H")


# ---------------------------------------------------------------------------------- ch06
def test_gru_references_and_mistakes():
    a = checks._gru_args(3)
    W = [a[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
    for reset_after in (True, False):
        np.testing.assert_allclose(checks._gru_step(a["x"], a["h"], *W, reset_after=reset_after)[0],
                                   gru_step(a["x"], a["h"], *W, reset_after=reset_after), atol=1e-10)
        checks.check_gru_step(lambda x, h, *W, ra=reset_after: gru_step(x, h, *W, reset_after=ra),
                              reset_after=reset_after)
    fails_with(checks.check_gru_step, lambda x, h, *W: gru_step(x, h, *W, reset_after=False), "先重置")
    fails_with(checks.check_gru_step, lambda x, h, *W: checks._gru_step(x, h, *W, z_keeps_h=False)[0], "z 和 1 − z")
    fails_with(checks.check_gru_step, lambda x, h, *W: checks._gru_step(x, h, *W, order=("z", "r", "c"))[0],
               "门的顺序是 r, z, c")


# ---------------------------------------------------------------------------------- ch07
def test_perplexity_mistakes():
    checks.check_perplexity(lambda p: float(np.exp(-np.mean(np.log(p)))))
    fails_with(checks.check_perplexity, lambda p: float(1 / np.mean(p)), "不是对 p 求平均")
    fails_with(checks.check_perplexity, lambda p: float(np.exp(np.mean(np.log(p)))), "少了负号")


def test_sampling_reference_equals_package_and_mistakes():
    z = np.random.default_rng(1).normal(size=12) * 2
    for T, k in ((1.0, None), (0.5, None), (2.0, 3)):
        np.testing.assert_allclose(checks._sampling_reference(z, T, k), next_token_probs(z, T, top_k=k), atol=1e-12)
    checks.check_sampling_probs(lambda z, T, k=None: next_token_probs(z, T, top_k=k))

    def no_renormalise(z, T, k=None):
        p = next_token_probs(z, T)
        if k is not None:
            p = np.where(z >= np.sort(z)[-k], p, 0.0)
        return p

    fails_with(checks.check_sampling_probs, no_renormalise, "没有重新归一化")
    fails_with(checks.check_sampling_probs, lambda z, T, k=None: next_token_probs(z * T, 1.0, top_k=k), "不是乘以 T")
    fails_with(checks.check_sampling_probs, lambda z, T, k=None: next_token_probs(z, T, top_k=None if k is None else k + 1),
               "保留了")


def test_bigram_reference_equals_ngram_model_and_mistakes():
    corpus = checks.BIGRAM_CORPUS
    for lam in ((0.1, 0.3, 0.6), (0.2, 0.2, 0.6)):
        model = NGramLM(2, 5, lam).fit(corpus)
        for v, w in itertools.product(range(5), range(5)):
            if any(v in s[:-1] for s in corpus):
                assert np.isclose(checks.bigram_reference(corpus, v, w, lam), model.prob([v], w))
    checks.check_bigram_prob(checks.bigram_reference)
    fails_with(checks.check_bigram_prob, lambda c, v, w, lam=(0.1, 0.3, 0.6), V=5: checks.bigram_reference(c, v, w, lam[::-1]),
               "λ 的顺序反了")
    fails_with(checks.check_bigram_prob,
               lambda c, v, w, lam=(0.1, 0.3, 0.6), V=5: checks.bigram_reference(c, v, w, lam, unigram_from=0),
               "起始符不算")
    fails_with(checks.check_bigram_prob,
               lambda c, v, w, lam=(0.1, 0.3, 0.6), V=5: checks.bigram_reference(c, v, w, lam, context="tokens"),
               "c(v,·) 数多了")


# ---------------------------------------------------------------------------------- ch09
def test_clipped_matches_reference_equals_bleu_counts_and_mistakes():
    checks.check_clipped_matches(checks.clipped_matches_reference)
    fails_with(checks.check_clipped_matches, lambda h, r, n: checks.clipped_matches_reference(h, r, n, extra=0),
               "off-by-one")
    fails_with(checks.check_clipped_matches, lambda h, r, n: checks.clipped_matches_reference(h, r, n, clip=False),
               "没有截断")


def test_attention_reference_equals_paddle_and_mistakes():
    from rnn_course import seq2seq as s2s

    a = checks._attention_args(0)
    layer = s2s.AdditiveAttention(4, 5, 6)
    layer.W_q.weight.set_value(a["W_q"].astype("float32"))
    layer.W_k.weight.set_value(a["W_k"].astype("float32"))
    layer.W_k.bias.set_value(a["b_k"].astype("float32"))
    layer.v.weight.set_value(a["v"].astype("float32"))
    keys = paddle.to_tensor(a["keys"], dtype="float32")
    _, expected = layer(paddle.to_tensor(a["query"], dtype="float32"), layer.project_keys(keys), keys,
                        paddle.to_tensor(a["mask"]))
    np.testing.assert_allclose(checks._attention(**a)[0], expected.numpy(), atol=1e-5)

    def attention(query, keys, mask, W_q, W_k, b_k, v, where="before", transpose=False):
        return checks._attention(query, keys, mask, W_q.T if transpose else W_q, W_k, b_k, v, where=where)[0]

    checks.check_attention_weights(attention)
    fails_with(checks.check_attention_weights, lambda *a: attention(*a, where="after"), "掩码放在 softmax 之后")
    fails_with(checks.check_attention_weights, lambda *a: attention(*a, where="none"), "−inf")
    msg = fails_with(checks.check_attention_weights, lambda *a: attention(*a, transpose=True), "形状对不上", "query @ W_q")
    assert "Traceback" not in msg


def test_masked_ce_reference_equals_package_and_mistakes():
    from rnn_course import seq2seq as s2s

    g = np.random.default_rng(3)
    logits = 5 * g.standard_normal((2, 4, 6))
    target = np.array([[4, 5, 0, 0], [3, 1, 2, 0]])
    expected = s2s.masked_cross_entropy(paddle.to_tensor(logits, dtype="float32"), paddle.to_tensor(target)).item()
    assert abs(checks._masked_ce_reference(logits, target) - expected) < 1e-4
    checks.check_masked_ce(checks._masked_ce_reference)
    fails_with(checks.check_masked_ce, lambda z, t: checks._masked_ce_reference(z, t, "plain"), "补齐位置")
    fails_with(checks.check_masked_ce, lambda z, t: checks._masked_ce_reference(z, t, "all_count"), "分母")


# ---------------------------------------------------------------------------------- ch04, 05, 08
def test_small_data_checks():
    checks.check_adding_targets(lambda x: (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True))
    fails_with(checks.check_adding_targets, lambda x: (x[:, :, 0] * x[:, :, 1]).sum(axis=1), "keepdims")
    checks.check_masked_mean(lambda o, L: (o * (paddle.arange(o.shape[1]).unsqueeze(0) < L.unsqueeze(1))
                                           .astype(o.dtype).unsqueeze(-1)).sum(axis=1)
                             / L.astype(o.dtype).unsqueeze(-1))
    fails_with(checks.check_masked_mean, lambda o, L: o.mean(axis=1), "补齐位置也算进了平均")

    def prf(C, swap=False):
        tp, fp, fn = C[1, 1], C[0, 1], C[1, 0]
        if swap:
            fp, fn = fn, fp
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return float(p), float(r), float(2 * p * r / (p + r) if p + r else 0.0)

    checks.check_prf(prf)
    fails_with(checks.check_prf, lambda C: prf(C, swap=True), "反了")
    checks.check_train_scaling(lambda x, n: (x - x[:n].mean()) / x[:n].std())
    fails_with(checks.check_train_scaling, lambda x, n: (x - x.mean()) / x.std(), "泄露")
    checks.check_seasonal_naive(lambda X, m: X[:, -m, :1])
    fails_with(checks.check_seasonal_naive, lambda X, m: X[:, -m + 1, :1] if m > 1 else X[:, -1, :1], "off-by-one")

    def fit(x, p, newest_first=True):
        rows = [np.concatenate([[1.0], x[t - p:t][::-1] if newest_first else x[t - p:t]]) for t in range(p, len(x))]
        return np.linalg.lstsq(np.array(rows), x[p:], rcond=None)[0]

    checks.check_fit_ar(fit)
    fails_with(checks.check_fit_ar, lambda x, p: fit(x, p, newest_first=False), "顺序反了")


def test_shortcuts_fail():
    """Calling the course's own implementation (or this module's reference formulas) fails."""
    from rnn_course.language_model import perplexity_from_log_probs

    fails_with(checks.check_perplexity, lambda p: perplexity_from_log_probs(np.log(p)), "现成的困惑度")
    fails_with(checks.check_sampling_probs, lambda z, T, k=None: next_token_probs(z, T, top_k=k), "现成的采样分布")
    fails_with(checks.check_bigram_prob,
               lambda c, v, w, lam=(0.1, 0.3, 0.6), V=5: NGramLM(2, 5, lam).fit(c).prob([v], w), "现成的 n 元模型")
    fails_with(checks.check_lstm_param_count,
               lambda n, H, L=1, bi=False: count_parameters(
                   paddle.nn.LSTM(n, H, num_layers=L, direction="bidirect" if bi else "forward")), "不要创建网络")
    fails_with(checks.check_gru_step, lambda x, h, *W: gru_step(x, h, *W), "现成的实现")
    fails_with(checks.check_lstm_step, lambda *a: checks._lstm_step(*a), "现成的实现")
    fails_with(checks.check_bigram_prob, checks.bigram_reference, "n 元模型")


def test_forbid_restores_the_profiler():
    import sys

    def helper():
        return 1

    before = sys.getprofile()
    with pytest.raises(AssertionError, match="shortcut"):
        with checks.forbid([helper], "shortcut"):
            helper()
    assert sys.getprofile() is before
    with checks.forbid([helper], "shortcut"):
        pass
