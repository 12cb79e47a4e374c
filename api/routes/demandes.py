"""Routes: demandes."""

from fastapi import APIRouter

router = APIRouter()
