"""Routes: territoires."""

from fastapi import APIRouter

router = APIRouter()
