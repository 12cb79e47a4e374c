"""Matching: the vacant units (logements) and the applications eligible for each of them.

`matching.logement` holds the unit record, its table and the social-housing zone of a commune;
`matching.eligibilite` computes, as vectors, which active applications may be proposed for each
unit (income ceilings, household size, contingent, wishes, accessibility) and why the others
may not. Effort rate and reste à vivre are computed for information, never used to exclude.
"""
