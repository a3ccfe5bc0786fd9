"""``/api/v1/me``: who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from anchorwatch.web.deps import UserDep

router = APIRouter(prefix="/api/v1", tags=["me"])


@router.get("/me")
def me(user: UserDep) -> dict[str, str]:
    return {"name": user.name, "role": user.role}
