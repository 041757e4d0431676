"""Fewer indexes on `orders`: drop `ix_orders_status` and `ix_orders_updated_at`.

Every change of status rewrites an entry in each index of `orders` (the status is indexed, so
no update is HOT); a price update that fires 1,000 limit orders paid for seven. The status
index duplicates the leading column of `ix_orders_status_watcher`, which serves every status
filter; `updated_at` is only read by the sweep, after its status filter.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = ("status", "updated_at")


def upgrade() -> None:
    """Drop the two indexes."""
    for column in _DROPPED:
        op.drop_index(f"ix_orders_{column}", table_name="orders", if_exists=True)


def downgrade() -> None:
    """Create them again.

    `IF NOT EXISTS`: SQLite's DDL outlives a failed downgrade (0005 refuses while halted, after
    this step already ran), and the retry must not trip on the indexes it left.
    """
    for column in _DROPPED:
        op.create_index(f"ix_orders_{column}", "orders", [column], if_not_exists=True)
