"""Create the activities, users and tokens tables and seed the default activities.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def binary_string(length):
    variant = mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin")
    return sa.String(length).with_variant(variant, "mysql", "mariadb")


def upgrade():
    activities = op.create_table(
        "activities",
        sa.Column("name", binary_string(64), nullable=False),
        sa.Column("male_players", sa.Integer(), nullable=False),
        sa.Column("female_players", sa.Integer(), nullable=False),
        sa.CheckConstraint("female_players >= 0", name="ck_activities_female_players"),
        sa.CheckConstraint("male_players >= 0", name="ck_activities_male_players"),
        sa.PrimaryKeyConstraint("name"),
        **MYSQL_TABLE,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", binary_string(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
        **MYSQL_TABLE,
    )
    op.create_table(
        "tokens",
        sa.Column("jti", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("subject", binary_string(64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("jti"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_tokens_expires_at", "tokens", ["expires_at"])
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])

    # A new database starts with the default activities. The rows are written out
    # here, not imported, so this migration keeps doing what it did when written.
    op.bulk_insert(
        activities,
        [
            {"name": "basketball", "male_players": 10, "female_players": 3},
            {"name": "swimming", "male_players": 3, "female_players": 5},
        ],
    )


def downgrade():
    # Dropping a table drops its indexes. MySQL refuses to drop ix_tokens_user_id on
    # its own while the foreign key on tokens.user_id needs it.
    op.drop_table("tokens")
    op.drop_table("users")
    op.drop_table("activities")
