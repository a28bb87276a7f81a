"""Names and places (optional): Presidio's spaCy recognizer over a spaCy model installed as a package.

Off by default (``silver.pii.ner.enabled``). Needs the extra ``pip install 'lakeprep[ner]'`` (presidio-analyzer,
spaCy) and a spaCy model installed as a Python package (``en_core_web_sm``: spaCy's release wheel, or your
own). Nothing is downloaded at run time: a missing model is a :class:`ConfigError` naming the package,
raised on the driver before any Spark job (Presidio itself would try to download it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from lakeprep.errors import ConfigError
from lakeprep.pii._kernels import Span

__all__ = ["check_ner", "name_finder"]


def check_ner(model: str) -> None:
    """Raise :class:`ConfigError` unless presidio-analyzer, spaCy and the model package are importable."""
    try:
        import presidio_analyzer  # noqa: F401
        import spacy
    except ImportError as e:
        raise ConfigError("silver.pii.ner.enabled", f"needs the 'ner' extra ({e.name} is missing): pip install 'lakeprep[ner]'") from e
    if not spacy.util.is_package(model):
        raise ConfigError(
            "silver.pii.ner.model",
            f"spaCy model {model!r} is not installed as a Python package; install its wheel (nothing is downloaded at run time) "
            "or set silver.pii.ner.enabled: false",
        )


@lru_cache(maxsize=4)
def name_finder(model: str, types: tuple[str, ...], min_score: float) -> Callable[[str], list[Span]]:
    """text -> PERSON/LOCATION spans, loaded once per Python worker."""
    check_ner(model)
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    engine = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}).create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=list(types)))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    def find(text: str) -> list[Span]:
        found = analyzer.analyze(text=text, language="en", entities=list(types), score_threshold=min_score)
        return [Span(r.start, r.end, r.entity_type, float(r.score)) for r in found]

    return find
