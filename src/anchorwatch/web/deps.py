"""Dependencies of the routes: the store, the vault, the current user and
the role checks.  Roles are enforced here, once, never inside a handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from anchorwatch.care.vault import Vault, VaultError
from anchorwatch.store import Store
from anchorwatch.store.users import CARE_ROLES, User, user_for_token

_bearer = HTTPBearer(auto_error=False)


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_vault(request: Request) -> Vault:
    """The venting vault; 503 when no key file is configured (text is never
    stored in the clear)."""
    vault: Vault | None = request.app.state.vault
    if vault is None:
        err: VaultError | None = request.app.state.vault_error
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=err.code if err else "error.key_not_set",
        )
    return vault


StoreDep = Annotated[Store, Depends(get_store)]
VaultDep = Annotated[Vault, Depends(get_vault)]


def current_user(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The account of the ``Authorization: Bearer TOKEN`` header; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = user_for_token(store, credentials.credentials)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


UserDep = Annotated[User, Depends(current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """A dependency admitting only ``roles`` (403 for any other)."""

    def check(user: UserDep) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {user.role} may not")
        return user

    return check


require_care = require_roles(*CARE_ROLES)
CareUserDep = Annotated[User, Depends(require_care)]
