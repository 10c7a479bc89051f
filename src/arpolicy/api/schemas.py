"""Shapes shared by every resource: money, pages, problems."""

from __future__ import annotations

from contextlib import suppress
from copy import deepcopy
from functools import cache
from typing import Annotated, Any, Generic, Literal, TypeVar

import pycountry
from fastapi import Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money, check_currency

T = TypeVar("T")


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """Drop ``"default": null`` from a property that cannot be null (see :data:`NotNull`):
    leaving it out is how a client keeps the value, so null is no default it may send."""
    for prop in schema.get("properties", {}).values():
        nullable = any(o.get("type") == "null" for o in prop.get("anyOf", ()))
        if "default" in prop and prop["default"] is None and not nullable:
            del prop["default"]


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise PydanticCustomError(
            "int_type", "Input should be a whole number, not {given}", {"given": repr(value)}
        )
    return value


def _as_json_types(schema: Any) -> None:
    """Take JSON's own types only, as the schema states them: a boolean is ``true`` or
    ``false`` (not ``0``, ``"yes"``), a whole number is a number (not ``true`` or ``"12"``;
    ``12.0`` is one). Pydantic's lax mode would coerce those, so that a client could send
    what the schema forbids; strict mode would also refuse enum values and ISO dates,
    which a JSON body can only carry as strings."""
    if isinstance(schema, list):
        for item in schema:
            _as_json_types(item)
    if not isinstance(schema, dict):
        return
    if schema.get("type") in ("bool", "float"):
        schema["strict"] = True
    elif schema.get("type") == "int":
        inner = dict(schema)
        schema.clear()
        schema.update(core_schema.no_info_before_validator_function(_whole_number, inner))
        return
    for value in schema.values():
        _as_json_types(value)


class Input(BaseModel):
    """Every request body: unknown fields are refused (422), so a client can never set a
    server-owned field by naming it; scalars are JSON's own (see :func:`_as_json_types`)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_no_null_defaults
    )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = deepcopy(handler(source))
        _as_json_types(schema)
        return schema


class _NotNull:
    """Marks an optional field of a PATCH body that cannot be null (``name: Annotated[Text200
    | None, NotNull] = None``): left out, the value stays; null is a 422 naming the field,
    and the schema does not offer null."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def refuse(value: Any) -> Any:
            if value is None:
                raise PydanticCustomError(
                    "not_null", "Input should not be null: leave the field out to keep its value"
                )
            return value

        return core_schema.no_info_before_validator_function(refuse, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        options = [o for o in found.pop("anyOf", ()) if o != {"type": "null"}]
        if len(options) == 1:
            found.update(options[0])
        elif options:
            found["anyOf"] = options
        return found


NotNull = _NotNull()


@cache
def currency_codes() -> list[str]:
    """The ISO 4217 codes money may be in (those with a minor unit), as the schema lists them."""
    codes = []
    for currency in pycountry.currencies:
        with suppress(ValidationError):
            codes.append(check_currency(currency.alpha_3))
    return sorted(codes)


def _currency(code: str) -> str:
    if code not in currency_codes():
        raise PydanticCustomError("currency_code", "Input should be an ISO 4217 currency code")
    return code


CurrencyCode = Annotated[
    str,
    AfterValidator(_currency),
    Field(json_schema_extra=lambda s: s.update(enum=currency_codes()), examples=["USD"]),
]
"""An ISO 4217 code with a minor unit (USD, EUR, JPY, KWD); the schema lists them all."""


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def answer(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as a route's JSON answer, the bytes FastAPI would write for it as the
    route's ``response_model`` (by alias), without validating it again first: FastAPI does
    that on the thread pool for a synchronous route, one more hand-off per request. Only for
    a route that builds its answer as an instance of its ``response_model`` itself."""
    return Response(model.model_dump_json(by_alias=True), status_code=status_code, media_type=JSON)


JSON = "application/json"


UNSIGNED = r"[0-9]{1,15}(\.[0-9]{1,4})?"
AMOUNT = f"^-?{UNSIGNED}$"
"""A decimal string; the schema's patterns, not the server, say which sign a field takes
(subclasses below): the server checks it with its own message (``is negative; ...``)."""


class MoneyValue(BaseModel):
    """An amount with its ISO 4217 currency. The amount is a decimal string, never a float:
    ``{"amount": "812.40", "currency": "USD"}``."""

    model_config = ConfigDict(extra="forbid")
    amount: str = Field(pattern=AMOUNT, examples=["812.40"])
    currency: CurrencyCode

    @classmethod
    def of(cls, money: Money | None) -> MoneyValue | None:
        if money is None:
            return None
        return cls(amount=str(money.amount), currency=money.currency)

    def to_money(self) -> Money:
        return Money.parse(self.amount, self.currency)


class NonNegativeMoney(MoneyValue):
    """An amount of zero or more (a document's, an order's)."""

    amount: str = Field(
        pattern=AMOUNT, examples=["812.40"], json_schema_extra={"pattern": "^" + UNSIGNED + "$"}
    )


class PositiveMoney(MoneyValue):
    """An amount of more than zero (a promise, a dispute, an allocation)."""

    amount: str = Field(
        pattern=AMOUNT,
        examples=["812.40"],
        json_schema_extra={"pattern": "^" + UNSIGNED + "$", "not": {"pattern": "^[0.]*$"}},
    )


class EmptyField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="A field the rule reads.")
    count: int = Field(ge=1, description="Records the rule is unknown for with this field empty.")


class RuleWarning(BaseModel):
    """A rule that is unknown for a large share of the records it reads (at least 20%), so
    that it never matches them: a condition on an empty field is unknown, and so is ``not``
    of it (docs/rules.md, "Rules that are unknown for many records"). Advice: the request
    succeeded."""

    model_config = ConfigDict(extra="forbid")
    where: str = Field(
        description="Where the rule sits (`payment`, `rules[0].when`; empty for a rule alone)."
    )
    level: Literal["customer", "invoice", "payment"]
    field: str = Field(description="The field most often empty where the rule is unknown.")
    count: int = Field(ge=1, description="Records the rule is unknown for.")
    total: int = Field(ge=1, description="Records it reads.")
    share: float = Field(ge=0, le=1, description="count / total, to 4 decimals.")
    empty: list[EmptyField] = Field(description="Each empty field, most frequent first.")
    message: str
    fix: str = Field(description="The rule rewritten to say what an empty value means.")

    @classmethod
    def of(cls, warning: Any) -> RuleWarning:
        """From an :class:`arpolicy.ledger.selection.coverage.RuleWarning`."""
        return cls.model_validate(warning.to_json())


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
