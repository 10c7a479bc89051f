"""Declarative base, naming convention and the tenant mixin every table uses."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, MetaData, String, func
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from arpolicy.kit.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


def enum_column(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    """A portable enum: VARCHAR with a CHECK constraint holding the values, not the names."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class TenantScoped:
    """``id`` (row id) plus ``tenant_id``; ``(tenant_id, id)`` is unique so children point at
    their parent with a composite foreign key and can never cross tenants."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)

    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


def minor_column(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(BigInteger, nullable=nullable)


def currency_column(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(String(3), nullable=nullable)
