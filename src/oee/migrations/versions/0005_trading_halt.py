"""The kill switch: `trading_halt`, one row saying whether new orders may route.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table, empty: no row means trading, as before this revision."""
    op.create_table(
        "trading_halt",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("halted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trading_halt"),
    )


def downgrade() -> None:
    """Drop it. Refused while trading is halted: the older engine would trade at once."""
    bind = op.get_bind()
    halted = bind.execute(sa.text("SELECT count(*) FROM trading_halt WHERE halted")).scalar()
    if halted:
        raise RuntimeError("trading is halted; resume it (oee resume) before downgrading")
    op.drop_table("trading_halt")
