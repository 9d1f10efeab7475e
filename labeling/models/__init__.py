"""The labeling tables, one module per slice; import them from here."""

from labeling.models.campaigns import (
    BlurMode,
    Campaign,
    ConsensusMethod,
    Item,
    Membership,
    Prompt,
    PromptImport,
    QueueStrategy,
    Rubric,
    random_key,
)
from labeling.models.care import AnnotatorCare, CarePreference, DailyExposure
from labeling.models.quality import Adjudication, Consensus, GoldAnswer, QualityState
from labeling.models.queue import Annotation, AnnotationRevision, Assignment, PrivateExposure
from labeling.models.scores import ScoreRefresh, ScoreSummary

__all__ = [
    "Adjudication",
    "Annotation",
    "AnnotationRevision",
    "AnnotatorCare",
    "Assignment",
    "BlurMode",
    "Campaign",
    "CarePreference",
    "Consensus",
    "ConsensusMethod",
    "DailyExposure",
    "GoldAnswer",
    "Item",
    "Membership",
    "PrivateExposure",
    "Prompt",
    "PromptImport",
    "QualityState",
    "QueueStrategy",
    "Rubric",
    "ScoreRefresh",
    "ScoreSummary",
    "random_key",
]
