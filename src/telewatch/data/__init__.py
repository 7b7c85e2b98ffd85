"""Curated package data for xref: gazetteer additions and event-term lexicon.

Generic world knowledge for the Middle East and Eastern Europe (military
bases, armed groups, agencies, provinces, event vocabulary), in several
scripts. Loaded by ``telewatch.xref.gazetteer`` and ``telewatch.xref.terms``.
"""
