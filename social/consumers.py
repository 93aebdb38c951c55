"""The notifications websocket: one connection per browser tab, one group per user."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .push import user_group

# Close code for "not authenticated", mirroring HTTP 401 in the 4000-4999 range kept for applications.
CLOSE_UNAUTHENTICATED = 4401


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self) -> None:
        user = self.scope["user"]
        # Accept first, then close: a close code reaches the client only on an accepted socket; a refused
        # handshake would look like a network error instead of "sign in again".
        await self.accept()
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def push_message(self, event: dict[str, Any]) -> None:
        """A message sent to the user's group (`{"type": "push.message", "message": {...}}`)."""
        await self.send_json(event["message"])
