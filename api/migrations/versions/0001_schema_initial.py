"""Initial schema of the service.

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 03:11:08.356142
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('territoires',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('nom', sa.String(length=200), nullable=False),
    sa.Column('departement', sa.String(length=3), nullable=True),
    sa.Column('revision_demandes', sa.Integer(), nullable=False),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('demandes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=False),
    sa.Column('numero_unique', sa.String(length=40), nullable=False),
    sa.Column('statut', sa.String(length=16), nullable=False),
    sa.Column('donnees', sa.Text(), nullable=False),
    sa.Column('modifiee_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('territoire_id', 'numero_unique')
    )
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('nom', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=True),
    sa.Column('reservataire', sa.String(length=32), nullable=True),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('jetons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('empreinte', sa.String(length=64), nullable=False),
    sa.Column('libelle', sa.String(length=200), nullable=False),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoque_le', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('empreinte')
    )
    op.create_table('logements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=False),
    sa.Column('identifiant', sa.String(length=40), nullable=False),
    sa.Column('statut', sa.String(length=16), nullable=False),
    sa.Column('donnees', sa.Text(), nullable=False),
    sa.Column('modifie_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organisation_id', 'identifiant')
    )
    op.create_table('versions_regles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=False),
    sa.Column('genre', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('statut', sa.String(length=16), nullable=False),
    sa.Column('texte', sa.Text(), nullable=False),
    sa.Column('libelle', sa.String(length=300), nullable=False),
    sa.Column('date_effet', sa.Date(), nullable=True),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('publiee_le', sa.DateTime(timezone=True), nullable=True),
    sa.Column('auteur_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['auteur_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('territoire_id', 'genre', 'version')
    )
    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('jeton_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('ressource', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['jeton_id'], ['jetons.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('statut', sa.String(length=16), nullable=False),
    sa.Column('date_cal', sa.Date(), nullable=False),
    sa.Column('logements', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('grille_id', sa.Integer(), nullable=True),
    sa.Column('politique_id', sa.Integer(), nullable=True),
    sa.Column('empreinte', sa.String(length=64), nullable=True),
    sa.Column('solveur', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('durees', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('resultat', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('erreur', sa.Text(), nullable=True),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('debut', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fin', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expire_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grille_id'], ['versions_regles.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['politique_id'], ['versions_regles.id'], ),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('propositions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=False),
    sa.Column('logement_id', sa.Integer(), nullable=False),
    sa.Column('identifiant_logement', sa.String(length=40), nullable=False),
    sa.Column('numero_unique', sa.String(length=40), nullable=False),
    sa.Column('rang', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('publics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('qpv', sa.Boolean(), nullable=False),
    sa.Column('bailleur', sa.String(length=200), nullable=False),
    sa.Column('reservataire', sa.String(length=32), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('typologie', sa.String(length=4), nullable=False),
    sa.Column('date_depot', sa.Date(), nullable=False),
    sa.Column('decision', sa.String(length=32), nullable=True),
    sa.Column('decision_motif', sa.Text(), nullable=True),
    sa.Column('decision_le', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bail', sa.String(length=16), nullable=True),
    sa.Column('bail_date', sa.Date(), nullable=True),
    sa.Column('bail_motif', sa.Text(), nullable=True),
    sa.Column('refus_legitime', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['logement_id'], ['logements.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'logement_id', 'numero_unique')
    )
    with op.batch_alter_table('propositions', schema=None) as batch_op:
        batch_op.create_index('ix_propositions_bail', ['territoire_id', 'bail', 'bail_date'], unique=False)

    op.create_table('verrous',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('territoire_id', sa.Integer(), nullable=False),
    sa.Column('numero_unique', sa.String(length=40), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('expire_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.ForeignKeyConstraint(['territoire_id'], ['territoires.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('territoire_id', 'numero_unique')
    )



def downgrade() -> None:

    op.drop_table('verrous')
    with op.batch_alter_table('propositions', schema=None) as batch_op:
        batch_op.drop_index('ix_propositions_bail')

    op.drop_table('propositions')
    op.drop_table('runs')
    op.drop_table('audit')
    op.drop_table('versions_regles')
    op.drop_table('logements')
    op.drop_table('jetons')
    op.drop_table('organisations')
    op.drop_table('demandes')
    op.drop_table('territoires')

