"""The audit log: every write, who made it, when. Only identifiers and counts, never personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.auth import Appelant
from api.models import Audit


def tracer(s: Session, who: Appelant | None, action: str, ressource: str, **details: Any) -> None:
    """Add an audit line to the session; it commits with the write it describes."""
    s.add(Audit(organisation_id=who.organisation_id if who else None, jeton_id=who.jeton_id if who else None,
                action=action, ressource=ressource, details=details))
