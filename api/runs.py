"""Proposal runs solved in background threads, so a large batch never blocks the server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from api.settings import Reglages


class Executeur:
    def __init__(self, sessions: sessionmaker[Session], reglages: Reglages):
        self.sessions, self.reglages = sessions, reglages
        self.pool = ThreadPoolExecutor(max_workers=reglages.travailleurs, thread_name_prefix="run")

    def reprendre(self) -> None:
        """Re-queue the runs left waiting by a previous process (TODO: owned by the runs work)."""

    def arreter(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
