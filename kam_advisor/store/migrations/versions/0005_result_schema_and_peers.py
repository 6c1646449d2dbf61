"""Schema 5: each audit records the version of its result document, its sector and size band.

``audits.schema_version`` is the version of the typed result document stored in ``result``
(audits saved before it are NULL: read as version 1 and upgraded when read).
``audits.sector`` and ``audits.size_band`` place an organisation among its peers for the
peer benchmark (NULL when not given); the index serves "the latest audit of each organisation
in a peer group".

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("schema_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("sector", sa.Text, nullable=True))
        batch.add_column(sa.Column("size_band", sa.Text, nullable=True))
    op.create_index("audits_by_peer_group", "audits", ["sector", "size_band", "organisation", "date"])


def downgrade() -> None:
    op.drop_index("audits_by_peer_group", table_name="audits")
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("size_band")
        batch.drop_column("sector")
        batch.drop_column("schema_version")
