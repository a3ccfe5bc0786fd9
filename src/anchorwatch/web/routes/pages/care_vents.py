"""``/care/vents``: the staff side of the private venting channel.

The list shows the channels assigned to the signed-in care user; one
channel shows the conversation, decrypted with the vault, with a reply form
and a button that revokes the member's link.  Only the care user assigned
to a channel may open, answer or revoke it (the ``assigned_channel``
dependency; admins and other care users get 403).  Reading is audited
(``view_vents``), answering too (``reply_vent``).  Without a key file the
channel refuses to run: the page says so and shows nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anchorwatch.care.vault import ENV_KEY_FILE, Vault
from anchorwatch.i18n import t
from anchorwatch.store import venting
from anchorwatch.store.audit import audit
from anchorwatch.web.pages import CarePageDep, Page, PageForbidden
from anchorwatch.web.queries_care import channel_states, channel_status
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)


def assigned_channel(channel_id: int, page: CarePageDep) -> venting.Channel | None:
    """The channel, when the signed-in user is the care user assigned to it
    (403 otherwise); ``None`` when there is no such channel."""
    try:
        channel = venting.channel_by_id(views_of(page.request).store, channel_id)
    except venting.VentError:
        return None
    if channel.care_user != page.user.id:
        raise PageForbidden()
    return channel


AssignedChannel = Annotated[venting.Channel | None, Depends(assigned_channel)]


def _vault(page: Page) -> tuple[Vault | None, str | None]:
    """The vault, or why the channel refuses to run."""
    vault: Vault | None = page.request.app.state.vault
    if vault is not None:
        return vault, None
    err = page.request.app.state.vault_error
    if err is not None:
        return None, t(err.code, page.locale, **err.params)
    return None, t("error.key_not_set", page.locale, name=ENV_KEY_FILE)


@router.get("/care/vents", response_class=HTMLResponse)
def vent_inbox(page: CarePageDep) -> HTMLResponse:
    store = views_of(page.request).store
    _vault_ok, refused = _vault(page)
    channels = channel_states(store, venting.care_channels(store, page.user))
    return page.render("pages/care_vents.html", channels=channels, refused=refused)


def _conversation(
    page: Page, channel: venting.Channel, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    store = views_of(page.request).store
    vault, refused = _vault(page)
    messages: list[venting.VentMessage] = []
    if vault is not None:
        messages = venting.thread(store, vault, channel)
        audit(store, page.user.name, "view_vents", channel.member, {"channel": channel.id})
    state = channel_states(store, [channel])[0]
    query = page.request.query_params
    return page.render(
        "pages/care_vent.html",
        status_code=status_code,
        state=state,
        messages=messages,
        refused=refused,
        error=error,
        sent=query.get("sent") == "1",
        revoked=query.get("revoked") == "1",
        max_chars=page.request.app.state.settings.vent_max_chars,
    )


@router.get("/care/vents/{channel_id}", response_class=HTMLResponse)
def vent_channel(page: CarePageDep, channel: AssignedChannel) -> HTMLResponse:
    if channel is None:
        return page.render("pages/not_found.html", status_code=404)
    return _conversation(page, channel)


@router.post("/care/vents/{channel_id}/reply", response_model=None)
async def vent_reply(page: CarePageDep, channel: AssignedChannel) -> Response:
    form = await page.form()
    if channel is None:
        return page.render("pages/not_found.html", status_code=404)
    vault, _refused = _vault(page)
    if vault is None:
        return _conversation(page, channel, status_code=503)
    if channel_status(channel) != "open":
        return _conversation(
            page, channel, error=t("web.vents.closed", page.locale), status_code=410
        )
    store = views_of(page.request).store
    try:
        venting.write(
            store,
            vault,
            channel,
            str(form.get("text") or "").replace("\r\n", "\n"),
            author="care",
            care_user=page.user,
            max_chars=page.request.app.state.settings.vent_max_chars,
        )
    except venting.VentError as exc:
        message = t(exc.code, page.locale, **exc.params)
        return _conversation(page, channel, error=message, status_code=exc.status)
    audit(store, page.user.name, "reply_vent", channel.member, {"channel": channel.id})
    return RedirectResponse(f"/care/vents/{channel.id}?sent=1#reply", status_code=303)


@router.post("/care/vents/{channel_id}/revoke", response_model=None)
async def vent_revoke(page: CarePageDep, channel: AssignedChannel) -> Response:
    await page.form()
    if channel is None:
        return page.render("pages/not_found.html", status_code=404)
    if channel.revoked_at is None:
        venting.revoke(views_of(page.request).store, channel.id)
    return RedirectResponse(f"/care/vents/{channel.id}?revoked=1", status_code=303)
