"""Example task handlers for examples/order.asl.json (`--handlers examples.handlers.orders`)."""

from __future__ import annotations

from typing import Any

import engine

_attempts: dict[str, int] = {}


def reserve(payload: dict[str, Any]) -> dict[str, Any]:
    return {"reserved": len(payload["items"])}


def charge(payload: dict[str, Any]) -> dict[str, Any]:
    """Busy on the first attempt (Retry handles it); declines amounts over 1000 (Catch handles it)."""
    order = payload["orderId"]
    _attempts[order] = _attempts.get(order, 0) + 1
    if _attempts[order] == 1:
        raise engine.TaskFailed("PaymentBusy", "the payment provider asked us to retry")
    if payload["amount"] > 1000:
        raise engine.TaskFailed("PaymentDeclined", f"amount {payload['amount']} over the limit")
    return {"id": f"ch-{order}", "amount": payload["amount"]}


def ship(payload: dict[str, Any]) -> dict[str, Any]:
    return {"tracking": f"trk-{payload['orderId']}", "note": payload["message"]}


HANDLERS = {"inventory.reserve": reserve, "payments.charge": charge, "shipping.ship": ship}
