"""Watch exits: who ended each watch of an armed order (fired, cancelled or expired).

One narrow row per order and watch, keyed by the order and the seq it was watching at. A fire
decision is committed as these rows alone (one INSERT for a whole batch) before the orders'
rows move; cancel and expire insert theirs in the same transaction as their move. The primary
key decides who ends a watch. No foreign key to `orders`: the batch insert is the fire's
latency-critical statement, and every exit is written for an order its writer just read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `watch_exits`."""
    op.create_table(
        "watch_exits",
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("firing", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "seq", name="pk_watch_exits"),
    )


def downgrade() -> None:
    """Drop it (if there: SQLite runs DDL outside a transaction, so a downgrade refused by an
    older revision, 0005 while halted, has already dropped it without moving the version)."""
    op.execute("DROP TABLE IF EXISTS watch_exits")
