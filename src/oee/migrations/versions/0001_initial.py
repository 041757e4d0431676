"""Orders and their event logs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `orders` and `order_events` with their indexes."""
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token_in", sa.String(16), nullable=False),
        sa.Column("token_out", sa.String(16), nullable=False),
        sa.Column("amount_in", sa.String(20), nullable=False),
        sa.Column("slippage_bps", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("tx", sa.JSON(), nullable=True),
        sa.Column("fill", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("tx_hash", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    for column in ("status", "created_at", "updated_at", "tx_hash"):
        op.create_index(f"ix_orders_{column}", "orders", [column])
    op.create_table(
        "order_events",
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_events_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("order_id", "seq", name="pk_order_events"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("order_events")
    for column in ("status", "created_at", "updated_at", "tx_hash"):
        op.drop_index(f"ix_orders_{column}", table_name="orders")
    op.drop_table("orders")
