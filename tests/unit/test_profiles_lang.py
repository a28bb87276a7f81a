"""Quality profiles (web / docs, code-aware signals) and language identification (no Spark)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeprep.config import config_from_mapping
from lakeprep.errors import ConfigError
from lakeprep.text.lang import UNDETERMINED, language_of, model_languages
from lakeprep.text.quality import PROFILES, QualityThresholds, prose_of, quality_reasons, quality_signals

PROSE = (
    "A configuration file tells the server where its data lives and how many connections it accepts. "
    "Change one value at a time, restart the service, and read the log to see whether the change took effect."
)
# a reference page: little prose, a long SQL synopsis and a C listing, identifiers written inline
MANUAL = (
    "# CREATE ROLE\n\n## Synopsis\n\n```\nCREATE ROLE name [ [ WITH ] option [ ... ] ]\n  | SUPERUSER | NOSUPERUSER\n"
    "  | CONNECTION LIMIT connlimit\n  | VALID UNTIL 'timestamp'\n```\n\n## Description\n\n" + PROSE + "\n\n"
    "Call `pg_create_role()` or set `rolconnlimit` to -1; see src/backend/commands/user.c and pg_authid.rolname.\n\n"
    "## Example\n\n```c\n#include <stdio.h>\nint main(void) {\n    for (int i = 0; i < 10; i++) { printf(\"%d\\n\", i); }\n"
    "    return 0;\n}\n```\n"
)


def test_web_profile_is_the_old_default_and_measures_the_whole_text() -> None:
    assert PROFILES["web"] == QualityThresholds()
    web = quality_signals(MANUAL)
    assert quality_reasons(web, PROFILES["web"])  # code counts as prose there: rejected
    assert web.code_block_count == 2 and 0.3 < web.code_fraction < 0.8


def test_docs_profile_measures_prose_without_code_and_keeps_the_manual_page() -> None:
    docs = quality_signals(MANUAL, code_aware=True)
    assert quality_reasons(docs, PROFILES["docs"]) == []
    assert docs.alpha_word_fraction > 0.95  # SQL brackets, C braces and identifiers are not prose
    assert "CREATE ROLE name" not in prose_of(MANUAL) and "pg_create_role" not in prose_of(MANUAL)
    assert docs.max_code_line_length == len('    for (int i = 0; i < 10; i++) { printf("%d\\n", i); }')
    assert docs.word_count == quality_signals(MANUAL).word_count  # size bounds count everything


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("!!! ??? $$$ %%% &&& ((( ))) *** +++ ,,,, " * 5, "alpha_fraction_low"),  # symbols are not Markdown syntax
        ("# Title\n\n```\n" + "x" * 3000 + "\n```\n" + PROSE, "code_line_too_long"),  # minified / base64 blob
        ("\n".join([PROSE] * 4), "duplicate_line_chars"),
        ("# Stub page", "too_few_words"),
    ],
)
def test_docs_profile_still_rejects_junk(text: str, code: str) -> None:
    reasons = quality_reasons(quality_signals(text, code_aware=True), PROFILES["docs"])
    assert code in [r.split(":")[0] for r in reasons], reasons


def test_profile_is_chosen_in_config_and_keys_override_it() -> None:
    cfg = config_from_mapping({"silver": {"quality": {"profile": "docs", "min_words": 50}}})
    q = cfg.silver.quality
    assert q.profile == "docs" and q.code_aware and q.min_words == 50 and q.max_code_line_length == 2000
    assert config_from_mapping({}).silver.quality == PROFILES["web"]
    with pytest.raises(ConfigError, match="silver.quality.profile"):
        config_from_mapping({"silver": {"quality": {"profile": "books"}}})


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The quick brown fox jumps over the lazy dog while the farmer watches from the porch.", "en"),
        ("Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde.", "fr"),
        ("Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zuschaut.", "de"),
        ("El rápido zorro marrón salta sobre el perro perezoso mientras el granjero mira.", "es"),
        ("Быстрая коричневая лиса перепрыгивает через ленивую собаку, пока фермер смотрит.", "ru"),
        ("素早い茶色の狐が怠け者の犬を飛び越え、農夫がそれを見ている。", "ja"),
    ],
)
def test_language_of_known_sentences(text: str, lang: str) -> None:
    code, score = language_of(text)
    assert code == lang and 0.5 < score <= 1.0


def test_language_of_text_without_letters_or_below_threshold_is_undetermined() -> None:
    assert language_of("1234 5678 -- ++ 42") == (UNDETERMINED, 0.0)
    code, score = language_of("ok", min_score=0.999)
    assert code == UNDETERMINED and score < 0.999
    assert {"en", "de", "zh", "ja", "ceb"} <= model_languages() and len(model_languages()) == 176


def test_language_keep_list_is_validated() -> None:
    assert config_from_mapping({"silver": {"language": {"keep": ["en", "und"]}}}).silver.language.keep == ("en", "und")
    with pytest.raises(ConfigError, match="silver.language.keep"):
        config_from_mapping({"silver": {"language": {"keep": ["english"]}}})
    with pytest.raises(ConfigError, match="silver.language.keep"):
        config_from_mapping({"silver": {"language": {"enabled": False, "keep": ["en"]}}})


# -- the model run in numpy against fastText's own C++ (fasttext-predict) ------------------------------------

_WORDS = st.sampled_from(
    "the of und der le la el на и 的 是 の は data Straße naïve café __label__en __label__ x1 ÿ 😀 \x00 ok".split(" ")
)


@pytest.fixture(scope="module")
def cpp_fasttext():  # type: ignore[no-untyped-def]
    import fasttext

    from lakeprep.text.lang import _model_path

    model = fasttext.load_model(str(_model_path()))

    def predict(text: str) -> tuple[str, float]:
        (label,), (score,) = model.predict(" ".join(text.split()), k=1)  # what lakeprep gave the C++ until 2026-12-06
        return label.removeprefix("__label__"), min(float(score), 1.0)

    return predict


def _agree(ours: tuple[str, float], cpp: tuple[str, float]) -> bool:
    return ours[0] == cpp[0] and abs(ours[1] - cpp[1]) < 1e-4


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(min_size=1, max_size=300), st.lists(_WORDS, min_size=1, max_size=60).map(" ".join)))
def test_numpy_model_gives_the_cpp_label_and_score(text: str, cpp_fasttext) -> None:  # type: ignore[no-untyped-def]
    if not any(ch.isalpha() for ch in text):
        return  # no letters: "und" without asking the model (tested above)
    assert _agree(language_of(text), cpp_fasttext(text)), (language_of(text), cpp_fasttext(text))
    assert language_of(text) == language_of(text)  # the second time from the remembered words


def test_numpy_model_on_real_sentences_and_long_words(cpp_fasttext) -> None:  # type: ignore[no-untyped-def]
    texts = [PROSE, MANUAL, prose_of(MANUAL), "Käse " * 50 + "x" * 300, " ".join(["Ωμέγα", "ﬁle", "e\u0301", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"] * 9)]
    for text in texts:
        assert _agree(language_of(text), cpp_fasttext(text))


def test_words_past_the_memo_are_counted_without_being_remembered(monkeypatch, cpp_fasttext) -> None:  # type: ignore[no-untyped-def]
    from lakeprep.text import lang

    monkeypatch.setattr(lang, "_KNOWN_MAX", 3)
    small = lang._Lid(lang._model_path().read_bytes())
    text = PROSE + " " + "Zeichenkettenverarbeitungsbibliotheksfunktionsaufrufe" * 2  # one 106-character word
    for _ in range(2):
        small.learn(text.split())
        got = small.predict(text.split())
        assert _agree(got, cpp_fasttext(text)) and got == language_of(text)
    assert len(small.known) == 3 and all(len(w) <= lang._KNOWN_CHARS for w in small.known)


def test_a_batch_gives_each_text_the_answer_it_gets_alone() -> None:
    from lakeprep.text import lang

    texts = [PROSE, "", "1234 5678", MANUAL, "Der schnelle braune Fuchs springt über den faulen Hund.", "x" * 300 + " Käse", PROSE]
    alone = [language_of(t, min_score=0.9) for t in texts]
    lang._model.cache_clear()  # the batch starts from nothing remembered
    assert lang.languages_of(texts, min_score=0.9) == alone
    assert alone[1] == alone[2] == (UNDETERMINED, 0.0) and alone[0] == alone[-1] and alone[4][0] == "de"
