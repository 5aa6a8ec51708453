"""Notifications: verified subscriptions and organisations, matching new breaches, and a transactional
outbox delivered by email and signed webhooks."""

from .matcher import MatchReport
from .service import Notifier

__all__ = ["MatchReport", "Notifier"]
