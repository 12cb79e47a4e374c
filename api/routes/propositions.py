"""Routes: propositions."""

from fastapi import APIRouter

router = APIRouter()
