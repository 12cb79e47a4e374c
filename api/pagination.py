"""Paginated lists: `?page=1&taille=100`, answered with the total so a client knows when to stop."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


class Pagination(BaseModel):
    page: int
    taille: int

    @property
    def decalage(self) -> int:
        return (self.page - 1) * self.taille


def pagination(page: Annotated[int, Query(ge=1, le=1_000_000, description="numéro de page, à partir de 1")] = 1,
               taille: Annotated[int, Query(ge=1, le=1000, description="éléments par page (1 à 1000)")] = 100,
               ) -> Pagination:
    return Pagination(page=page, taille=taille)


class Page(BaseModel, Generic[T]):
    elements: list[T]
    page: int
    taille: int
    total: int


def paginer(s: Session, query: Select, p: Pagination) -> tuple[list, int]:
    """The rows of one page of `query` (which must be ordered) and the total count."""
    total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(s.execute(query.offset(p.decalage).limit(p.taille)).all())
    return rows, total
