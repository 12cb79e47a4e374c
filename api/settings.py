"""The service's settings, read once from environment variables (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///cotation.db"


class ErreurReglage(ValueError):
    """An environment variable with a value the service cannot use."""


@dataclass(frozen=True)
class Reglages:
    database_url: str = DEFAULT_DATABASE_URL
    taille_max_corps: int = 64 * 1024 * 1024  # bytes; a larger request body gets 413
    expiration_jours: int = 30  # a proposal run not decided after this many days frees its candidates
    travailleurs: int = 2  # proposal runs solved at the same time, in background threads
    taille_page_max: int = 1000

    @classmethod
    def depuis_environnement(cls, env: dict[str, str] | None = None) -> Reglages:
        env = dict(os.environ if env is None else env)

        def entier(name: str, default: int, minimum: int) -> int:
            text = env.get(name)
            if text is None or text.strip() == "":
                return default
            try:
                value = int(text)
            except ValueError:
                raise ErreurReglage(f"{name}={text!r} : un nombre entier est attendu") from None
            if value < minimum:
                raise ErreurReglage(f"{name}={value} : la valeur doit être au moins {minimum}")
            return value

        return cls(
            database_url=env.get("COTATION_DATABASE_URL") or DEFAULT_DATABASE_URL,
            taille_max_corps=entier("COTATION_TAILLE_MAX_CORPS", cls.taille_max_corps, 1024),
            expiration_jours=entier("COTATION_EXPIRATION_JOURS", cls.expiration_jours, 1),
            travailleurs=entier("COTATION_TRAVAILLEURS", cls.travailleurs, 1),
        )
