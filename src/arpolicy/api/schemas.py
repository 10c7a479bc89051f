"""Shapes shared by every resource: money, pages, problems."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from arpolicy.kit.money import Money

T = TypeVar("T")


class Input(BaseModel):
    """Every request body: unknown fields are refused (422), so a client can never set a
    server-owned field by naming it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MoneyValue(BaseModel):
    """An amount with its ISO 4217 currency. The amount is a decimal string, never a float:
    ``{"amount": "812.40", "currency": "USD"}``."""

    model_config = ConfigDict(extra="forbid")
    amount: str = Field(pattern=r"^-?\d{1,15}(\.\d{1,4})?$", examples=["812.40"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])

    @classmethod
    def of(cls, money: Money | None) -> MoneyValue | None:
        if money is None:
            return None
        return cls(amount=str(money.amount), currency=money.currency)

    def to_money(self) -> Money:
        return Money.parse(self.amount, self.currency)


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass ``next_cursor`` as ``cursor`` to get the next page; it is
    null on the last page."""

    items: list[T]
    next_cursor: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    where: str | None = None
    fix: str | None = None
    errors: list[dict[str, Any]] | None = None
    request_id: str | None = None
