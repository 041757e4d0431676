"""Order owners: the API key that placed each order, and idempotency keys per API key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `orders.owner` (NULL: placed in open mode) and make idempotency keys per owner.

    Batch mode: SQLite cannot change a primary key in place, so there the table is copied;
    PostgreSQL alters it directly. Existing keys keep working, as keys of open mode ('').
    """
    op.add_column("orders", sa.Column("owner", sa.String(64), nullable=True))
    op.create_index("ix_orders_owner", "orders", ["owner", "created_at"])
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(
            sa.Column("owner", sa.String(64), nullable=False, server_default=sa.text("''"))
        )
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["owner", "key"])


def downgrade() -> None:
    """Drop owners. Keys of API keys are forgotten (two owners may share a key text, which
    the old primary key cannot hold): a retry within their window then creates a new order."""
    op.execute("DELETE FROM idempotency_keys WHERE owner <> ''")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["key"])
        batch.drop_column("owner")
    op.drop_index("ix_orders_owner", table_name="orders")
    op.drop_column("orders", "owner")
