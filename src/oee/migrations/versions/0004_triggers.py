"""Triggers: limit and sniper orders' conditions, expiries, firings, and their watchers' leases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the trigger columns (NULL for market orders), widen the token columns to hold a
    mint address, and create the `watchers` table of live trigger-watcher processes."""
    # SQLite keeps text of any length in a VARCHAR, so only PostgreSQL needs the wider type
    # (and a batch copy of `orders` on SQLite would trip the events' foreign key).
    if op.get_bind().dialect.name != "sqlite":
        for column in ("token_in", "token_out"):
            op.alter_column("orders", column, type_=sa.String(64), existing_nullable=False)
    op.add_column("orders", sa.Column("trigger", sa.JSON(), nullable=True))
    op.add_column("orders", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("fired", sa.JSON(), nullable=True))
    op.add_column("orders", sa.Column("max_price_impact_bps", sa.Integer(), nullable=True))
    op.add_column("orders", sa.Column("watcher", sa.String(64), nullable=True))
    op.create_index("ix_orders_status_watcher", "orders", ["status", "watcher"])
    op.create_table(
        "watchers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("alive_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watchers"),
    )
    op.create_index("ix_watchers_alive_until", "watchers", ["alive_until"])


def downgrade() -> None:
    """Drop them again. Refused while limit or sniper orders exist: the old schema cannot
    say what they wait for."""
    bind = op.get_bind()
    count = bind.execute(sa.text("SELECT count(*) FROM orders WHERE type <> 'market'")).scalar()
    if count:
        raise RuntimeError(f"{count} limit or sniper orders exist; revision 0003 cannot hold them")
    op.drop_index("ix_watchers_alive_until", table_name="watchers")
    op.drop_table("watchers")
    op.drop_index("ix_orders_status_watcher", table_name="orders")
    for column in ("watcher", "max_price_impact_bps", "fired", "expires_at", "trigger"):
        op.drop_column("orders", column)
    if bind.dialect.name != "sqlite":
        for column in ("token_in", "token_out"):
            op.alter_column("orders", column, type_=sa.String(16), existing_nullable=False)
