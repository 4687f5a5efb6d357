"""encrypt secrets: credentials.secret_key and .token hold "wdenc1:" + Fernet ciphertext

Revision ID: 0007
Revises: 0006

The key comes from the ``SecretBox`` that ``storage/migrate.py`` puts in the Alembic config
attributes (``secret_box``), i.e. from the server's key file. Rows are encrypted in the same
transaction as the column change, so a database is either wholly before or wholly after this
revision. A row already carrying the prefix is left alone. Without a box the migration runs
only if there is nothing to encrypt (an empty database); otherwise it stops with a message.
After encrypting, ``storage/migrate.py`` rewrites the storage (VACUUM) so that the plain values
do not linger in the database files.
"""

from alembic import context, op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PREFIX = "wdenc1:"

_credentials = sa.table(
    "credentials",
    sa.column("secret_id", sa.String),
    sa.column("secret_key", sa.String),
    sa.column("token", sa.String),
)


def _box(purpose: str):  # type: ignore[no-untyped-def]
    box = context.config.attributes.get("secret_box")
    if box is None:
        raise RuntimeError(
            f"Migration 0007 must {purpose} stored credentials and needs the key file: run it through "
            "`wedata db upgrade` / `wedata server` (which load WEDATA_KEY_FILE), not the alembic command."
        )
    return box


def _rewrite(convert, purpose: str, needs) -> None:  # type: ignore[no-untyped-def]
    conn = op.get_bind()
    c = _credentials.c
    rows = conn.execute(sa.select(c.secret_id, c.secret_key, c.token)).all()
    todo = [r for r in rows if needs(r.secret_key) or (r.token is not None and needs(r.token))]
    if not todo:
        return
    box = _box(purpose)
    # The replaced values stay in free pages (SQLite) or dead row versions (PostgreSQL) until the
    # storage is rewritten, which cannot happen inside this transaction: migrate.py does it after.
    context.config.attributes["scrub_tables"] = ["credentials"]
    for r in todo:
        conn.execute(
            _credentials.update()
            .where(c.secret_id == r.secret_id)
            .values(
                secret_key=convert(box, r.secret_key),
                token=None if r.token is None else convert(box, r.token),
            )
        )


def upgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('secret_key', existing_type=sa.String(length=128), type_=sa.String(length=512),
                              existing_nullable=False)
        batch_op.alter_column('token', existing_type=sa.String(length=256), type_=sa.String(length=1024),
                              existing_nullable=True)
    _rewrite(
        lambda box, v: v if v.startswith(PREFIX) else box.encrypt(v),
        "encrypt the",
        lambda v: not v.startswith(PREFIX),
    )


def downgrade() -> None:
    _rewrite(
        lambda box, v: box.decrypt(v) if v.startswith(PREFIX) else v,
        "decrypt the",
        lambda v: v.startswith(PREFIX),
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=1024), type_=sa.String(length=256),
                              existing_nullable=True)
        batch_op.alter_column('secret_key', existing_type=sa.String(length=512), type_=sa.String(length=128),
                              existing_nullable=False)
