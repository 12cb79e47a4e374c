"""Routes: logements."""

from fastapi import APIRouter

router = APIRouter()
